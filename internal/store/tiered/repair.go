package tiered

import (
	"context"
	"sync"
	"time"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/redisstore"
)

// repairs remembers devices whose L1 entry may be older than L2 because an
// L1 write or delete failed (a shard down or timing out). Reads skip L1
// for them, and Run deletes their L1 entries once the shard answers again,
// every RepairInterval; a later successful write of the device clears it
// too. It holds at most max ids; beyond that, ids are dropped (counted in
// push_store_tier_repairs_dropped_total) and L1TTL bounds their staleness.
type repairs struct {
	mu  sync.Mutex
	ids map[string]struct{}
	max int
}

func newRepairs(max int) *repairs {
	return &repairs{ids: make(map[string]struct{}), max: max}
}

// add remembers ids and returns how many it had to drop.
func (r *repairs) add(ids ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	dropped := 0
	for _, id := range ids {
		if _, ok := r.ids[id]; !ok && len(r.ids) >= r.max {
			dropped++
			continue
		}
		r.ids[id] = struct{}{}
	}
	return dropped
}

// remove forgets ids.
func (r *repairs) remove(ids ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		delete(r.ids, id)
	}
}

// has reports whether id waits for repair.
func (r *repairs) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[id]
	return ok
}

// empty reports whether nothing waits, without taking the lock for long.
func (r *repairs) empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids) == 0
}

// snapshot returns the ids waiting, at most n.
func (r *repairs) snapshot(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, min(n, len(r.ids)))
	for id := range r.ids {
		if len(out) == n {
			break
		}
		out = append(out, id)
	}
	return out
}

// l1Failed records that an L1 write of devs failed with err: the devices
// on the failed shards (all of them when err is not per shard) wait for
// repair.
func (t *Tiered) l1Failed(err error, devs []*store.Device) {
	se, ok := redisstore.AsShardError(err)
	var ids []string
	if ok {
		for _, f := range se.Failures {
			t.metrics.degrade("l1", f.Shard)
			for _, p := range f.Positions {
				ids = append(ids, devs[p].ID)
			}
		}
	} else {
		t.metrics.degrade("l1", "all")
		for _, d := range devs {
			ids = append(ids, d.ID)
		}
	}
	t.log.Debug("l1 write failed", "devices", len(ids), "error", err)
	t.metrics.repairsDropped(t.repairs.add(ids...))
}

// l1Written records that devs are current in L1 again.
func (t *Tiered) l1Written(devs []*store.Device) {
	if t.repairs.empty() {
		return
	}
	ids := make([]string, len(devs))
	for i, d := range devs {
		ids[i] = d.ID
	}
	t.repairs.remove(ids...)
}

// repairBatch is how many devices one repair round deletes at most.
const repairBatch = 4096

// repair deletes the L1 entries of the devices waiting for repair, one
// pipeline per shard, and forgets those whose shard answered.
func (t *Tiered) repair(ctx context.Context) {
	ids := t.repairs.snapshot(repairBatch)
	if len(ids) == 0 {
		return
	}
	err := t.l1.ForgetDevices(ctx, ids)
	if err == nil {
		t.repairs.remove(ids...)
		return
	}
	se, ok := redisstore.AsShardError(err)
	if !ok {
		return
	}
	failed := make(map[int]bool)
	for _, p := range se.Failed() {
		failed[p] = true
	}
	done := ids[:0]
	for i, id := range ids {
		if !failed[i] {
			done = append(done, id)
		}
	}
	t.repairs.remove(done...)
}

// runRepairs repairs every interval until ctx ends.
func (t *Tiered) runRepairs(ctx context.Context, interval time.Duration) {
	if t.l1 == nil {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.repair(ctx)
		}
	}
}
