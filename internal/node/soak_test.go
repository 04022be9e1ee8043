package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto/client"
)

// slot is one device across the lives of its app: each life is a client
// started from the state the one before it stopped with.
type slot struct {
	mu    sync.Mutex
	d     *device
	lives [][]client.Push // what the stopped lives received
}

// all returns what every life received, the running one last.
func (s *slot) all() []client.Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []client.Push
	for _, l := range s.lives {
		out = append(out, l...)
	}
	return append(out, s.d.got()...)
}

// restart stops the running life and starts the next from its state.
func (s *slot) restart(t *testing.T, base, appKey string, pause time.Duration) {
	s.mu.Lock()
	old := s.d
	s.mu.Unlock()
	st := old.stop()
	time.Sleep(pause)
	next := newDevice(t, base, appKey, st)
	s.mu.Lock()
	s.lives = append(s.lives, old.got())
	s.d = next
	s.mu.Unlock()
	next.start()
}

// mixed is a run of mixed traffic to one app's devices.
type mixed struct {
	devices, pushers, perPusher, broadcasts, restarts, maxAudience int
	// event runs beside the traffic, after it has begun (nil: none).
	event func()
	// outcomes, when set, is read for each target's ack watermark and
	// outcome in place of the push's counts, which a crashed connector can
	// leave short (decisions.md, "Counts after a connector crash").
	outcomes store.Store
}

// TestMixedTrafficLosesNothing sends unicast pushes from two goroutines and
// app broadcasts from a third to devices spread over three connectors, while
// a fourth stops devices and starts them again from their saved state.
func TestMixedTrafficLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of mixed traffic")
	}
	n := startNode(t, Options{Connectors: 3, InternalHTTP: true})
	a := api{t: t, base: n.URL()}
	runMixed(t, a, a.createApp(n.AdminToken(), "mixed"),
		mixed{devices: 10, pushers: 2, perPusher: 40, broadcasts: 10, restarts: 16, maxAudience: 4})
}

// TestMixedTrafficAcrossAConnectorCrash is the same on clusters, with one
// of two connector processes killed (SIGKILL) in the middle of the traffic:
// its devices move to the other, and the pushes routed to it meanwhile reach
// them there. The relay runs with a 1 s ack timeout, so that its checks
// record the acknowledgements the dead connector left unrecorded.
func TestMixedTrafficAcrossAConnectorCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a connector process")
	}
	shared := startCluster(t)
	reg := prometheus.NewRegistry()
	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true, Relay: true}, Registry: reg}, func(c *config.Config) {
		shared(c)
		c.Relay.AckTimeout = time.Second
	})
	startNodeWith(t, Options{Roles: Roles{Connector: true}}, shared)
	child, _ := startNodeProcess(t, "connector", clusterEnv(shared)...)
	waitFor(t, 20*time.Second, "both connectors on the gateway's ring", func() bool { return gw.members.Ring().Len() == 2 })
	a := api{t: t, base: gw.URL()}
	runMixed(t, a, a.createApp(gw.AdminToken(), "mixed-crash"), mixed{
		devices: 10, pushers: 2, perPusher: 40, broadcasts: 10, restarts: 8, maxAudience: 4,
		outcomes: gw.store,
		event: func() {
			time.Sleep(40 * time.Millisecond)
			kill(t, child)
		},
	})
	t.Logf("acknowledgements recorded by the relay's checks: %v; fallbacks to the live connector: %v",
		obstest.Value(t, reg, "push_relay_acks_recorded_total", nil),
		obstest.Value(t, reg, "push_gateway_route_fallbacks_total", map[string]string{"to": "connector"}))
}

// traffic is what a run of mixed traffic sent.
type traffic struct {
	slots   []*slot
	ids     []string          // device ids by slot
	want    []map[string]bool // unicast push ids by slot
	targets map[string]int    // unicast push id → devices
	bcasts  []string          // broadcast push ids, the first one first
}

// runMixed readies m.devices devices of app and runs the traffic of m.
// Across its lives, every device must read each push addressed to it once,
// each stream in order, and every unicast push must end acked by all its
// targets and failed by none.
// MOPUSH_MIXED_SEED sets the seed of the random choices, to repeat a run's.
func runMixed(t *testing.T, a api, app appCreds, m mixed) {
	tr := sendMixed(t, a, app, m)
	slots, want, targets, bcasts := tr.slots, tr.want, tr.targets, tr.bcasts

	for i, s := range slots {
		waitFor(t, 30*time.Second, fmt.Sprintf("device %d's pushes", i), func() bool {
			got := map[string]bool{}
			for _, p := range s.all() {
				got[p.ID] = true
			}
			for id := range want[i] {
				if !got[id] {
					return false
				}
			}
			for _, id := range bcasts {
				if !got[id] {
					return false
				}
			}
			return true
		})
	}
	for i, s := range slots {
		var own, bc []uint64
		seen := map[string]int{}
		for _, p := range s.all() {
			seen[p.ID]++
			if p.Broadcast {
				bc = append(bc, p.Seq)
			} else {
				own = append(own, p.Seq)
				require.True(t, want[i][p.ID], "device %d read push %s, not addressed to it", i, p.ID)
			}
		}
		for id, k := range seen {
			require.Equal(t, 1, k, "device %d read push %s once", i, id)
		}
		require.Len(t, own, len(want[i]), "device %d: every unicast push addressed to it", i)
		require.Len(t, bc, len(bcasts), "device %d: every broadcast", i)
		require.IsIncreasing(t, own, "device %d: its own stream in order", i)
		require.IsIncreasing(t, bc, "device %d: the broadcast stream in order", i)
	}
	for id, k := range targets {
		if m.outcomes != nil {
			requireAllAcked(t, m.outcomes, slots, id)
			c := a.counts(app, id)
			require.Equal(t, float64(k), c["targeted"], "push %s", id)
			require.LessOrEqual(t, c["acked"], float64(k), "push %s: no target counted twice", id)
			require.Zero(t, c["failed"], "push %s", id)
			continue
		}
		// Every device read every push addressed to it: each target
		// counts once as delivered and once as acked.
		deadline := time.Now().Add(30 * time.Second)
		c := a.counts(app, id)
		for c["acked"] != float64(k) || c["delivered"] != float64(k) {
			require.False(t, time.Now().After(deadline), "push %s to %d devices: counts %v", id, k, c)
			time.Sleep(5 * time.Millisecond)
			c = a.counts(app, id)
		}
		require.Equal(t, float64(k), c["targeted"], "push %s", id)
		require.Zero(t, c["failed"], "push %s", id)
	}
	for _, s := range slots {
		s.d.stop()
	}
}

// sendMixed readies m.devices devices of app and sends the traffic of m:
// unicast pushes from m.pushers goroutines, broadcasts from one, device
// restarts from another, and m.event beside them.
func sendMixed(t *testing.T, a api, app appCreds, m mixed) traffic {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("MOPUSH_MIXED_SEED"); v != "" {
		var err error
		seed, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "MOPUSH_MIXED_SEED")
	}
	t.Logf("seed %d (MOPUSH_MIXED_SEED repeats it)", seed)

	slots := make([]*slot, m.devices)
	ids := make([]string, m.devices)
	for i := range slots {
		d := newDevice(t, a.base, app.key, client0())
		d.register("")
		d.start()
		slots[i], ids[i] = &slot{d: d}, d.id()
	}
	for _, s := range slots {
		s.d.waitReady()
	}
	// One broadcast before the traffic gives every device a position in the
	// app's broadcast stream, so that it catches up on the broadcasts it
	// misses while stopped (protocol 9.10).
	first := a.push(app, broadcastBody("first"))
	for _, s := range slots {
		waitFor(t, 10*time.Second, "the first broadcast", func() bool { return s.d.gotCount(first) == 1 })
	}

	var (
		mu      sync.Mutex
		want    = make([]map[string]bool, m.devices) // unicast push ids by device
		targets = map[string]int{}                   // unicast push id → devices
		bcasts  = []string{first}
		wg      sync.WaitGroup
	)
	for i := range want {
		want[i] = map[string]bool{}
	}
	for p := range m.pushers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(p)))
			for k := range m.perPusher {
				picked := r.Perm(m.devices)[:1+r.IntN(m.maxAudience)]
				var to []string
				for _, i := range picked {
					to = append(to, ids[i])
				}
				id := a.push(app, map[string]any{"audience": toDevices(to...),
					"notification": notification(fmt.Sprintf("p%d-%d", p, k), "mixed")})
				mu.Lock()
				for _, i := range picked {
					want[i][id] = true
				}
				targets[id] = len(picked)
				mu.Unlock()
				time.Sleep(time.Duration(r.IntN(4)) * time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		r := rand.New(rand.NewPCG(seed, 100))
		for k := range m.broadcasts {
			id := a.push(app, broadcastBody(fmt.Sprintf("b%d", k)))
			mu.Lock()
			bcasts = append(bcasts, id)
			mu.Unlock()
			time.Sleep(time.Duration(5+r.IntN(15)) * time.Millisecond)
		}
	})
	wg.Go(func() {
		r := rand.New(rand.NewPCG(seed, 200))
		for range m.restarts {
			slots[r.IntN(m.devices)].restart(t, a.base, app.key, time.Duration(r.IntN(10))*time.Millisecond)
			time.Sleep(time.Duration(r.IntN(10)) * time.Millisecond)
		}
	})
	if m.event != nil {
		wg.Go(m.event)
	}
	wg.Wait()
	return traffic{slots: slots, ids: ids, want: want, targets: targets, bcasts: bcasts}
}

// requireAllAcked waits until every device that read push id has
// acknowledged it durably (its ack watermark is at the push's seq or past
// it) and the target's outcome is recorded as acked: by the connector, or,
// when a connector was killed between moving the watermark and recording,
// by the relay's check (decisions.md, "Counts after a connector crash").
func requireAllAcked(t *testing.T, st store.Store, slots []*slot, id string) {
	t.Helper()
	for _, s := range slots {
		for _, p := range s.all() {
			if p.ID != id {
				continue
			}
			dev := s.d.id()
			deadline := time.Now().Add(30 * time.Second)
			for {
				mark, err := st.Watermark(context.Background(), dev, store.MarkAcked)
				require.NoError(t, err)
				o, err := st.OutcomeOf(context.Background(), dev, p.Seq)
				require.NoError(t, err)
				if mark >= p.Seq && o == store.OutcomeAcked {
					break
				}
				require.False(t, time.Now().After(deadline),
					"push %s at seq %d of %s: ack watermark %d, outcome %d", id, p.Seq, dev, mark, o)
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
}
