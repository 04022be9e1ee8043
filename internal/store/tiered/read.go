package tiered

import (
	"context"
	"fmt"
	"time"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
	"github.com/mopush/mopush/internal/store/redisstore"
)

// read is the state of one multi-device read.
type read struct {
	ids  []string
	out  []*store.Device
	gens []uint64 // stripe generation of each position when L0 missed
	// fill marks positions whose value should go to L0; positions whose L1
	// shard failed are left out, because no invalidation covers them.
	fill     []bool
	degraded []bool
}

// Devices returns the devices with the given ids, by position; a missing
// device is nil. Keys L0 misses go to L1 in one pipeline per shard, all
// shards at once; keys L1 misses, and the keys of L1 shards that fail, go
// to L2 in one call. Values found below are written back up: to L1 with
// L1TTL (never over a newer value), and to L0 those that L1 returned
// (with tracking off, those from L2 too) unless an invalidation came
// meanwhile. A failed L1 shard does not fail the read; it is counted in
// push_store_tier_degraded_total. Only an L2 failure does.
func (t *Tiered) Devices(ctx context.Context, ids []string) ([]*store.Device, error) {
	start := time.Now()
	r := &read{
		ids:      ids,
		out:      make([]*store.Device, len(ids)),
		gens:     make([]uint64, len(ids)),
		fill:     make([]bool, len(ids)),
		degraded: make([]bool, len(ids)),
	}
	miss := t.readL0(r)
	if len(miss) > 0 {
		miss = t.readL1(ctx, r, miss)
	}
	if len(miss) > 0 {
		if err := t.readL2(ctx, r, miss); err != nil {
			return nil, err
		}
	}
	t.fillL0(r)
	t.metrics.read(time.Since(start).Seconds())
	return r.out, nil
}

// readL0 fills what L0 holds and returns the other positions.
func (t *Tiered) readL0(r *read) []int {
	var miss []int
	hits := 0
	for i, id := range r.ids {
		if id == "" {
			continue
		}
		key := t.DeviceKey(id)
		r.gens[i] = t.locks.generation(key)
		if b, ok := t.l0.Get(key); ok {
			if d, err := reccodec.DecodeDevice(b); err == nil {
				r.out[i] = d
				hits++
				continue
			}
			t.l0.Delete(key)
		}
		miss = append(miss, i)
	}
	t.metrics.lookup("l0", hits, len(miss))
	return miss
}

// readL1 reads the positions miss from L1 and returns those it could not
// serve: missing there, on a shard that failed, or waiting for repair.
func (t *Tiered) readL1(ctx context.Context, r *read, miss []int) []int {
	if t.l1 == nil {
		return miss
	}
	var next []int
	if !t.repairs.empty() {
		// Devices whose L1 entry may be stale skip L1, like a failed shard.
		ask := make([]int, 0, len(miss))
		for _, p := range miss {
			if t.repairs.has(r.ids[p]) {
				r.degraded[p] = true
				next = append(next, p)
				continue
			}
			ask = append(ask, p)
		}
		miss = ask
	}
	sub := make([]string, len(miss))
	for j, p := range miss {
		sub[j] = r.ids[p]
	}
	got, err := t.l1.Devices(ctx, sub)
	if err != nil {
		t.degradeL1(err, func(j int) { r.degraded[miss[j]] = true }, len(miss))
	}
	hits := 0
	for j, p := range miss {
		if got != nil && got[j] != nil {
			r.out[p], r.fill[p] = got[j], true
			hits++
			continue
		}
		next = append(next, p)
	}
	t.metrics.lookup("l1", hits, len(next))
	return next
}

// degradeL1 counts the failed shards of an L1 call over n positions and
// marks their positions; an error that is not per shard marks them all.
func (t *Tiered) degradeL1(err error, mark func(j int), n int) {
	if se, ok := redisstore.AsShardError(err); ok {
		for _, f := range se.Failures {
			t.metrics.degrade("l1", f.Shard)
			for _, j := range f.Positions {
				mark(j)
			}
		}
		t.log.Debug("l1 degraded", "error", err)
		return
	}
	t.metrics.degrade("l1", "all")
	t.log.Warn("l1 failed", "error", err)
	for j := range n {
		mark(j)
	}
}

// readL2 reads the positions miss from L2, once per distinct id, and
// writes what it finds back to L1.
func (t *Tiered) readL2(ctx context.Context, r *read, miss []int) error {
	index := make(map[string]int, len(miss))
	var sub []string
	for _, p := range miss {
		if _, ok := index[r.ids[p]]; !ok {
			index[r.ids[p]] = len(sub)
			sub = append(sub, r.ids[p])
		}
	}
	got, err := t.l2.Devices(ctx, sub)
	if err != nil {
		return fmt.Errorf("tiered: read l2: %w", err)
	}
	hits := 0
	var up []*store.Device
	given := make(map[string]bool)
	for _, p := range miss {
		d := got[index[r.ids[p]]]
		if d == nil {
			continue
		}
		hits++
		if given[d.ID] {
			// An id asked for twice: each position gets its own copy, as
			// callers may change what they get.
			d = d.Clone()
		}
		r.out[p] = d
		if r.degraded[p] || given[d.ID] {
			given[d.ID] = true
			continue
		}
		given[d.ID] = true
		// With tracking, the write-back to L1 ends this node's read of
		// the key (Redis pushes the key back here), so L0 would drop the
		// value again at once: the next read takes it from L1 instead.
		r.fill[p] = !t.tracked()
		up = append(up, d)
	}
	t.metrics.lookup("l2", hits, len(miss)-hits)
	if t.l1 != nil && len(up) > 0 {
		if err := t.l1.FillDevices(ctx, up, t.cfg.L1TTL); err != nil && ctx.Err() == nil {
			t.degradeL1(err, func(int) {}, 0)
		}
	}
	return nil
}

// fillL0 stores the values read below L0, unless the device was written or
// invalidated since the read began: then the value may be stale, and the
// entry is removed again.
func (t *Tiered) fillL0(r *read) {
	for i, ok := range r.fill {
		if !ok {
			continue
		}
		key := t.DeviceKey(r.ids[i])
		if t.locks.generation(key) != r.gens[i] {
			continue
		}
		if err := t.l0.Set(key, reccodec.EncodeDevice(r.out[i]), t.cfg.L0TTL); err != nil {
			continue
		}
		if t.locks.generation(key) != r.gens[i] {
			t.l0.Delete(key)
		}
	}
}
