package tiered

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/batch"
	"github.com/mopush/mopush/internal/store/redisstore"
	"github.com/mopush/mopush/internal/testsrv"
)

// workload reads all devices and writes some of them until stopped. Each
// writer owns a disjoint part of the devices, so the last value it wrote
// to a device is the device's latest.
type workload struct {
	tr      *Tiered
	devs    []*store.Device
	ids     []string
	ops     atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
	latest  map[string]string    // device -> latest platform written
	lastSee map[string]time.Time // device -> latest last seen reported
}

const writers = 2

func (w *workload) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

func (w *workload) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// start runs readers, writers (PutDevice) and a reporter (ReportWait).
func (w *workload) start(t *testing.T) {
	ctx := t.Context()
	for range 3 {
		w.wg.Go(func() {
			for !w.stopped() {
				got, err := w.tr.Devices(ctx, w.ids)
				if err != nil {
					w.fail(fmt.Errorf("read: %w", err))
					return
				}
				for i, d := range got {
					if d == nil || d.ID != w.ids[i] {
						w.fail(fmt.Errorf("read: device %d missing", i))
						return
					}
				}
				w.ops.Add(1)
			}
		})
	}
	for g := range writers {
		w.wg.Go(func() {
			for n := 0; !w.stopped(); n++ {
				i := g + writers*(n%(len(w.devs)/(writers+1)))
				d := *w.devs[i]
				d.Platform = fmt.Sprintf("v%d", n)
				if err := w.tr.PutDevice(ctx, &d); err != nil {
					w.fail(fmt.Errorf("put: %w", err))
					return
				}
				w.mu.Lock()
				w.latest[d.ID] = d.Platform
				w.mu.Unlock()
				w.ops.Add(1)
			}
		})
	}
	w.wg.Go(func() {
		for n := 1; !w.stopped(); n++ {
			// The reporter owns the devices the writers leave alone.
			i := writers*(len(w.devs)/(writers+1)) + n%(len(w.devs)/(writers+1))
			seen := w.devs[i].LastSeen.Add(time.Duration(n) * time.Second)
			if err := w.tr.ReportWait(ctx, w.ids[i], Fields{LastSeen: seen}); err != nil {
				w.fail(fmt.Errorf("report: %w", err))
				return
			}
			w.mu.Lock()
			w.lastSee[w.ids[i]] = seen
			w.mu.Unlock()
			w.ops.Add(1)
		}
	})
}

// check compares devices with the latest values written.
func (w *workload) check(got []*store.Device) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, d := range got {
		if d == nil {
			return fmt.Errorf("device %d missing", i)
		}
		if p, ok := w.latest[d.ID]; ok && d.Platform != p {
			return fmt.Errorf("device %d: platform %s, latest written %s", i, d.Platform, p)
		}
		if s, ok := w.lastSee[d.ID]; ok && !d.LastSeen.Equal(s) {
			return fmt.Errorf("device %d: last seen %s, latest reported %s", i, d.LastSeen, s)
		}
	}
	return nil
}

// TestShardKilledMidRun: two L1 shards; one is killed while reads, writes
// and reports go on. Reads of its keys fall through to L2 and succeed, the
// failure is counted, nothing written is lost, and after a restart reads
// use the shard again.
func TestShardKilledMidRun(t *testing.T) {
	t.Parallel()
	srvs := []*testsrv.Redis{testsrv.StartRedis(t), testsrv.StartRedis(t)}
	reg := prometheus.NewPedanticRegistry()
	l2 := openPebble(t)
	tr := open(t, Config{
		Registerer:     reg,
		L1:             redisstore.Config{Addrs: []string{srvs[0].Addr, srvs[1].Addr}},
		Reports:        batch.Config{MaxDelay: time.Millisecond},
		RepairInterval: 20 * time.Millisecond,
	}, l2)
	devs, idList := putL2(t, l2, 300)
	dead := tr.l1.Shards()[1]
	w := &workload{tr: tr, devs: devs, ids: idList, stop: make(chan struct{}),
		latest: map[string]string{}, lastSee: map[string]time.Time{}}
	degraded := func() float64 {
		return obstest.Value(t, reg, "push_store_tier_degraded_total", map[string]string{"tier": "l1", "shard": dead})
	}
	trips := func() float64 {
		return obstest.Value(t, reg, "push_store_redis_round_trips_total", map[string]string{"shard": dead})
	}

	w.start(t)
	testsrv.WaitFor(t, 30*time.Second, func() bool { return w.ops.Load() > 200 })
	require.Zero(t, degraded())
	srvs[1].Kill()
	atKill, l2Hits := w.ops.Load(), lookups(t, reg, "l2", "hit")
	testsrv.WaitFor(t, 30*time.Second, func() bool { return degraded() > 0 && w.ops.Load() > atKill+300 })
	require.Greater(t, lookups(t, reg, "l2", "hit"), l2Hits, "the dead shard's keys were read from L2")

	require.NoError(t, srvs[1].Restart())
	// Reads use the shard again: a read of all devices reaches it without
	// a new degradation.
	testsrv.WaitFor(t, 30*time.Second, func() bool {
		d, rt := degraded(), trips()
		tr.InvalidateAll()
		_, err := tr.Devices(t.Context(), idList)
		require.NoError(t, err)
		return degraded() == d && trips() > rt
	})
	atRestart := w.ops.Load()
	testsrv.WaitFor(t, 30*time.Second, func() bool { return w.ops.Load() > atRestart+300 })
	close(w.stop)
	w.wg.Wait()
	require.NoError(t, firstOf(w.errs))

	require.NotEmpty(t, w.latest)
	require.NotEmpty(t, w.lastSee)
	fromL2, err := l2.Devices(t.Context(), idList)
	require.NoError(t, err)
	require.NoError(t, w.check(fromL2), "L2 has every write")
	// Through the tiers every device reads as last written, once
	// invalidations and repairs in flight have landed.
	testsrv.WaitFor(t, 10*time.Second, func() bool {
		tr.InvalidateAll()
		got, err := tr.Devices(t.Context(), idList)
		require.NoError(t, err)
		return w.check(got) == nil
	})
	// The restarted shard serves its devices from L1 again.
	onDead := 0
	got, err := tr.l1.Devices(t.Context(), idList)
	require.NoError(t, err)
	for i, id := range idList {
		if tr.l1.ShardOf(id) == dead {
			require.NotNil(t, got[i], "device %d refilled on the restarted shard", i)
			onDead++
		}
	}
	require.Positive(t, onDead)
	t.Logf("ops: %d before the kill, %d at the restart, %d in all; l1 degraded %v times",
		atKill, atRestart, w.ops.Load(), degraded())
}

func firstOf(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%d errors, first: %w", len(errs), errs[0])
}
