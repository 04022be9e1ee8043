package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/dispatcher"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// scripted answers each node's batches from a script.
type scripted struct {
	mu    sync.Mutex
	calls map[string]int
	fn    func(node string, call int, b route.Batch) ([]route.Result, error)
}

func (s *scripted) Deliver(_ context.Context, n dispatcher.Node, b route.Batch) ([]route.Result, error) {
	s.mu.Lock()
	s.calls[n.ID]++
	call := s.calls[n.ID]
	s.mu.Unlock()
	return s.fn(n.ID, call, b)
}

func (s *scripted) Broadcast(context.Context, dispatcher.Node, route.Broadcast) (route.BroadcastResult, error) {
	return route.BroadcastResult{}, errors.New("not scripted")
}

func all(status route.Status, n int) []route.Result {
	out := make([]route.Result, n)
	for i := range out {
		out[i].Status = status
	}
	return out
}

func testRing() dispatcher.Static {
	return dispatcher.Static{R: dispatcher.NewRing([]dispatcher.Node{{ID: "a"}, {ID: "b"}, {ID: "c"}}, 0)}
}

func targets(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "dev-" + string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	return out
}

func TestRouteGroupsByOwnerAndMergesByPosition(t *testing.T) {
	t.Parallel()
	ring := testRing()
	var seen sync.Map
	d := &scripted{calls: map[string]int{}, fn: func(node string, _ int, b route.Batch) ([]route.Result, error) {
		out := make([]route.Result, len(b.DeviceIDs))
		for i, id := range b.DeviceIDs {
			owner, _ := ring.R.Owner(id)
			require.Equal(t, node, owner.ID, "batch holds only devices the node owns")
			seen.Store(id, true)
			out[i] = route.Result{Status: route.Written}
			if id[len(id)-1] == 'a' {
				out[i].Status = route.Offline
			}
		}
		return out, nil
	}}
	g := New(Config{}, nil, ring, d, nil, nil)
	p := &store.Push{ID: "p", Targets: targets(60)}
	c, _, _ := g.route(context.Background(), p, func() {}, false)
	require.EqualValues(t, 26, c.Offline)
	require.Zero(t, c.Failed)
	require.Len(t, d.calls, 3, "one batch per owner")
	for _, id := range p.Targets {
		_, ok := seen.Load(id)
		require.True(t, ok)
	}
}

func TestRouteRetriesRefusedAndFailed(t *testing.T) {
	t.Parallel()
	d := &scripted{calls: map[string]int{}, fn: func(node string, call int, b route.Batch) ([]route.Result, error) {
		require.Equal(t, call > 1, b.Retry, "a batch after an attempt is a retry, the first is not")
		switch {
		case node == "a" && call == 1:
			return all(route.Refused, len(b.DeviceIDs)), nil
		case node == "b" && call == 1:
			return nil, errors.New("connection refused")
		}
		return all(route.Written, len(b.DeviceIDs)), nil
	}}
	g := New(Config{}, nil, testRing(), d, nil, nil)
	c, _, _ := g.route(context.Background(), &store.Push{ID: "p", Targets: targets(30)}, func() {}, false)
	require.Zero(t, c.Failed, "second attempt succeeded")
	require.Equal(t, 2, d.calls["a"])
	require.Equal(t, 2, d.calls["b"])
}

// openStore opens an embedded store for the test.
func openStore(t *testing.T) *pebblestore.Store {
	t.Helper()
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// requireStored checks that each device's stream holds push id as its
// message at the result's position.
func requireStored(t *testing.T, st *pebblestore.Store, ids []string, results []route.Result, pushID string) {
	t.Helper()
	for i, id := range ids {
		require.Equal(t, route.Offline, results[i].Status, id)
		page, err := st.ReadStream(context.Background(), id, results[i].Epoch, results[i].Seq-1, 10)
		require.NoError(t, err)
		require.Len(t, page.Messages, 1, id)
		require.Equal(t, pushID, page.Messages[0].PushID)
		require.Equal(t, results[i].Seq, page.Messages[0].Seq)
	}
}

// Devices that no connector takes in any attempt are appended to their
// streams by the gateway: offline, not failed, and caught up later.
func TestRouteStoresWhatNoConnectorTook(t *testing.T) {
	t.Parallel()
	d := &scripted{calls: map[string]int{}, fn: func(string, int, route.Batch) ([]route.Result, error) {
		return nil, fmt.Errorf("deliver: %w: 500", route.ErrRemote)
	}}
	st := openStore(t)
	g := New(Config{}, st, testRing(), d, nil, nil)
	ids := targets(10)
	c, results, _ := g.route(context.Background(), &store.Push{ID: "p", Targets: ids}, func() {}, false)
	require.EqualValues(t, 10, c.Offline)
	require.Zero(t, c.Failed)
	for _, n := range d.calls {
		require.Equal(t, routeAttempts, n, "a connector that answers is tried again, not passed over")
	}
	requireStored(t, st, ids, results, "p")
}

// failingAppends is a store whose first fails appends fail (all of them
// when fails is negative).
type failingAppends struct {
	*pebblestore.Store
	mu    sync.Mutex
	fails int
	calls int
}

func (f *failingAppends) Append(ctx context.Context, e []store.Entry) ([]store.Position, error) {
	f.mu.Lock()
	f.calls++
	fail := f.fails < 0 || f.calls <= f.fails
	f.mu.Unlock()
	if fail {
		return nil, errors.New("store down")
	}
	return f.Store.Append(ctx, e)
}

// When the gateway cannot append either until the route's deadline, the
// devices count as failed.
func TestRouteCountsPersistentFailures(t *testing.T) {
	t.Parallel()
	d := &scripted{calls: map[string]int{}, fn: func(string, int, route.Batch) ([]route.Result, error) {
		return nil, errors.New("down")
	}}
	st := &failingAppends{Store: openStore(t), fails: -1}
	g := New(Config{RouteTimeout: 2 * time.Second}, st, testRing(), d, nil, nil)
	c, _, _ := g.route(context.Background(), &store.Push{ID: "p", Targets: targets(10)}, func() {}, false)
	require.EqualValues(t, 10, c.Failed)
	require.Greater(t, st.calls, 1, "tried again while the route had time")
}

// A store that fails for a moment (a shard restarting) loses nothing: the
// gateway's own append is tried again until it succeeds.
func TestRouteStoresOnceTheStoreIsBack(t *testing.T) {
	t.Parallel()
	d := &scripted{calls: map[string]int{}, fn: func(string, int, route.Batch) ([]route.Result, error) {
		return nil, fmt.Errorf("deliver: %w: 500", route.ErrRemote)
	}}
	st := &failingAppends{Store: openStore(t), fails: 2}
	g := New(Config{}, st, testRing(), d, nil, nil)
	ids := targets(5)
	c, results, _ := g.route(context.Background(), &store.Push{ID: "p", Targets: ids}, func() {}, false)
	require.Zero(t, c.Failed)
	require.EqualValues(t, 5, c.Offline)
	require.Equal(t, 3, st.calls)
	requireStored(t, st.Store, ids, results, "p")
}

func TestRouteEmptyRing(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	g := New(Config{}, st, dispatcher.Static{R: dispatcher.NewRing(nil, 0)}, &scripted{calls: map[string]int{}}, nil, nil)
	ids := targets(3)
	c, results, _ := g.route(context.Background(), &store.Push{ID: "p", Targets: ids}, func() {}, false)
	require.EqualValues(t, 3, c.Offline)
	requireStored(t, st, ids, results, "p")
}

// A connector that cannot be reached is passed over: its devices go to the
// next ring node, the fallback the dispatcher gives them, in a batch
// marked as a fallback; later pushes skip it at once, until downFor ends.
func TestRouteFallsBackWhenTheOwnerIsUnreachable(t *testing.T) {
	t.Parallel()
	ring := testRing()
	var mu sync.Mutex
	got := map[string]string{} // device -> node that took it
	d := &scripted{calls: map[string]int{}, fn: func(node string, _ int, b route.Batch) ([]route.Result, error) {
		if node == "a" {
			return nil, fmt.Errorf("deliver to a: %w: connection refused", route.ErrUnreachable)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, id := range b.DeviceIDs {
			owner, _ := ring.R.Owner(id)
			if owner.ID != node {
				require.Equal(t, "a", owner.ID, "only the devices of a go elsewhere")
				require.True(t, b.Fallback, "a batch with devices of a is a fallback")
			}
			got[id] = node
		}
		return all(route.Written, len(b.DeviceIDs)), nil
	}}
	g := New(Config{}, openStore(t), ring, d, nil, nil)
	ids := targets(40)
	onA := 0
	for _, id := range ids {
		if o, _ := ring.R.Owner(id); o.ID == "a" {
			onA++
		}
	}
	require.Positive(t, onA)
	c, results, _ := g.route(context.Background(), &store.Push{ID: "p1", Targets: ids}, func() {}, false)
	require.Zero(t, c.Failed)
	for i, id := range ids {
		require.Equal(t, route.Written, results[i].Status, id)
		want := ring.R.Owners(id, 2)
		if want[0].ID == "a" {
			require.Equal(t, want[1].ID, got[id], "owner down: the next ring node took %s", id)
		} else {
			require.Equal(t, want[0].ID, got[id], "owner up: it took %s", id)
		}
	}
	require.Equal(t, 1, d.calls["a"])
	require.Equal(t, float64(onA), counterValue(t, g.m.fallbacks.WithLabelValues("connector")))

	// The next push does not try a again; its batches to b and c hold
	// their own devices too, which are no fallbacks.
	c, _, _ = g.route(context.Background(), &store.Push{ID: "p2", Targets: ids}, func() {}, false)
	require.Zero(t, c.Failed)
	require.Equal(t, 1, d.calls["a"])
	require.Equal(t, float64(2*onA), counterValue(t, g.m.fallbacks.WithLabelValues("connector")))
}

// holding is an AsyncScheduler that keeps each call until the test lets it
// go.
type holding struct {
	calls chan heldCall
}

type heldCall struct {
	jobs []relayq.Job
	done func(error)
}

func (h *holding) Schedule(context.Context, []relayq.Job) error {
	return errors.New("the gateway should not wait on the queue")
}

func (h *holding) ScheduleAsync(jobs []relayq.Job, done func(error)) {
	h.calls <- heldCall{jobs: jobs, done: done}
}

// A push stays pending, and queued, until its fallback checks are stored;
// a routing worker does not wait for that.
func TestRouteJobFinishesOnceChecksAreStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	d := &scripted{calls: map[string]int{}, fn: func(_ string, _ int, b route.Batch) ([]route.Result, error) {
		return all(route.Written, len(b.DeviceIDs)), nil
	}}
	h := &holding{calls: make(chan heldCall, 4)}
	g := New(Config{}, st, testRing(), d, nil, nil, WithRelay(Relay{Queue: h, AckTimeout: time.Minute}))

	newPush := func() string {
		p := &store.Push{ID: ids.New(), AppID: "app", Targets: targets(3), CreatedAt: time.Now(), State: store.PushPending}
		id, err := st.CreatePush(ctx, p, "")
		require.NoError(t, err)
		return id
	}
	pending := func(id string) bool {
		ids, err := st.PendingPushes(ctx, 100)
		require.NoError(t, err)
		return slices.Contains(ids, id)
	}

	for _, fail := range []bool{false, true} {
		id := newPush()
		released := make(chan struct{})
		g.routeJob(ctx, routeJob{id: id}, func() { close(released) })
		call := <-h.calls
		require.Len(t, call.jobs, 3)
		for _, j := range call.jobs {
			require.Greater(t, j.DueMs, time.Now().Add(50*time.Second).UnixMilli(), "written: due after the ack timeout")
		}
		select {
		case <-released:
			t.Fatal("released before the checks were stored")
		default:
		}
		require.True(t, pending(id))

		if fail {
			call.done(errors.New("queue down"))
			<-released
			require.True(t, pending(id), "left pending for the next sweep")
			continue
		}
		call.done(nil)
		<-released
		require.False(t, pending(id))
	}
}

// closingQueue is an AsyncScheduler that holds every call until Close,
// as a relayq.Coalescer holds checks to share a message; after Close it
// stores at once.
type closingQueue struct {
	mu     sync.Mutex
	held   []func(error)
	closed bool
}

func (q *closingQueue) Schedule(context.Context, []relayq.Job) error { return nil }

func (q *closingQueue) ScheduleAsync(_ []relayq.Job, done func(error)) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		done(nil)
		return
	}
	q.held = append(q.held, done)
	q.mu.Unlock()
}

func (q *closingQueue) Close() {
	q.mu.Lock()
	held := q.held
	q.held, q.closed = nil, true
	q.mu.Unlock()
	for _, done := range held {
		done(nil)
	}
}

func (q *closingQueue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.held)
}

// When the gateway stops, it closes its queue, so that checks held to
// share a message go out and their pushes finish: Run returns without
// waiting out the hold.
func TestRunClosesTheQueueOnShutdown(t *testing.T) {
	t.Parallel()
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	d := &scripted{calls: map[string]int{}, fn: func(_ string, _ int, b route.Batch) ([]route.Result, error) {
		return all(route.Written, len(b.DeviceIDs)), nil
	}}
	q := &closingQueue{}
	g := New(Config{}, st, testRing(), d, nil, nil, WithRelay(Relay{Queue: q, AckTimeout: time.Minute}))
	p := &store.Push{ID: ids.New(), AppID: "app", Targets: targets(3), CreatedAt: time.Now(), State: store.PushPending}
	id, err := st.CreatePush(context.Background(), p, "")
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }() // resumes the pending push first
	for i := 0; i < 3000 && q.waiting() == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, 1, q.waiting(), "the push's checks are held")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run waits for held checks")
	}
	pending, err := st.PendingPushes(context.Background(), 10)
	require.NoError(t, err)
	require.NotContains(t, pending, id, "finished once its checks were stored")
}

// With every candidate down, the gateway stores the message itself.
func TestRouteStoresWhenEveryCandidateIsDown(t *testing.T) {
	t.Parallel()
	d := &scripted{calls: map[string]int{}, fn: func(node string, _ int, _ route.Batch) ([]route.Result, error) {
		return nil, fmt.Errorf("deliver to %s: %w", node, route.ErrUnreachable)
	}}
	st := openStore(t)
	g := New(Config{}, st, testRing(), d, nil, nil)
	ids := targets(12)
	c, results, _ := g.route(context.Background(), &store.Push{ID: "p", Targets: ids}, func() {}, false)
	require.EqualValues(t, 12, c.Offline)
	requireStored(t, st, ids, results, "p")
	for n, calls := range d.calls {
		require.LessOrEqual(t, calls, 1+fallbackDepth, "node %s", n)
	}
	require.Equal(t, 12.0, counterValue(t, g.m.fallbacks.WithLabelValues("store")))
}

func TestDownNodesExpire(t *testing.T) {
	t.Parallel()
	d := newDownNodes()
	t0 := time.Now()
	require.False(t, d.any(t0))
	d.mark("a", t0)
	require.True(t, d.any(t0))
	require.True(t, d.is("a", t0.Add(downFor-time.Millisecond)))
	require.False(t, d.is("b", t0))
	require.False(t, d.is("a", t0.Add(downFor)))
	require.False(t, d.any(t0.Add(downFor)))
	require.Empty(t, d.until, "expired marks are dropped")
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

// BenchmarkPickOwner is the choice of a device's connector while no
// connector is down: the common case that every routed device pays.
func BenchmarkPickOwner(b *testing.B) {
	d := newDownNodes()
	ring := testRing().R
	ids := targets(64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now := time.Now()
		if _, _, ok := d.pick(ring, ids[i%len(ids)], d.any(now), now); !ok {
			b.Fatal("no node")
		}
	}
}

// BenchmarkPickFallback is the same choice while the owner of some
// devices is down.
func BenchmarkPickFallback(b *testing.B) {
	d := newDownNodes()
	ring := testRing().R
	ids := targets(64)
	d.mark("a", time.Now().Add(time.Hour))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now := time.Now()
		if _, _, ok := d.pick(ring, ids[i%len(ids)], d.any(now), now); !ok {
			b.Fatal("no node")
		}
	}
}

// A resumed push may be in streams already: every batch of it is a retry.
func TestResumedPushBatchesAreRetries(t *testing.T) {
	t.Parallel()
	d := &scripted{calls: map[string]int{}, fn: func(_ string, _ int, b route.Batch) ([]route.Result, error) {
		require.True(t, b.Retry)
		return all(route.Written, len(b.DeviceIDs)), nil
	}}
	g := New(Config{}, openStore(t), testRing(), d, nil, nil)
	c, _, _ := g.route(context.Background(), &store.Push{ID: "p", Targets: targets(9)}, func() {}, true)
	require.Zero(t, c.Failed)
	require.NotEmpty(t, d.calls)
}

// A connector that appended and then failed (its answer an error) leaves
// the message in the stream: the gateway's own append skips that stream,
// so the device holds the push once.
func TestStoreLeftSkipsStreamsThatHoldTheMessage(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	d := &scripted{calls: map[string]int{}, fn: func(_ string, call int, b route.Batch) ([]route.Result, error) {
		if call == 1 {
			entries := make([]store.Entry, len(b.DeviceIDs))
			for i, id := range b.DeviceIDs {
				entries[i] = store.Entry{DeviceID: id, Message: b.Message}
			}
			_, err := st.Append(context.Background(), entries)
			require.NoError(t, err)
		}
		return nil, fmt.Errorf("deliver: %w: 500", route.ErrRemote)
	}}
	g := New(Config{}, st, testRing(), d, nil, nil)
	ids := targets(6)
	c, results, _ := g.route(context.Background(), &store.Push{ID: "p", Targets: ids}, func() {}, false)
	require.EqualValues(t, 6, c.Offline)
	requireStored(t, st, ids, results, "p")
	for i, id := range ids {
		require.EqualValues(t, 1, results[i].Seq, id)
		page, err := st.ReadStream(context.Background(), id, 0, 0, 10)
		require.NoError(t, err)
		require.Len(t, page.Messages, 1, "%s holds the push once", id)
	}
	require.Zero(t, counterValue(t, g.m.fallbacks.WithLabelValues("store")), "nothing left to append")
}

// A gateway that stops while the store fails leaves the push pending, for
// the next start, instead of finishing it with failed targets.
func TestStopWhileTheStoreFailsLeavesThePushPending(t *testing.T) {
	t.Parallel()
	d := &scripted{calls: map[string]int{}, fn: func(string, int, route.Batch) ([]route.Result, error) {
		return nil, fmt.Errorf("deliver: %w: 500", route.ErrRemote)
	}}
	st := &failingAppends{Store: openStore(t), fails: -1}
	g := New(Config{}, st, testRing(), d, nil, nil)
	stop := make(chan struct{})
	g.stopping = stop
	close(stop)
	_, _, stopped := g.route(context.Background(), &store.Push{ID: "p", Targets: targets(4)}, func() {}, false)
	require.True(t, stopped)
	require.Equal(t, 1, st.calls, "no second try once stopping")

	// Through routeJob: the push is neither counted nor finished.
	p := &store.Push{ID: ids.New(), AppID: "app", Targets: targets(4), CreatedAt: time.Now(), State: store.PushPending}
	_, err := st.CreatePush(context.Background(), p, "")
	require.NoError(t, err)
	released := make(chan struct{})
	g.routeJob(context.Background(), routeJob{id: p.ID}, func() { close(released) })
	<-released
	pending, err := st.PendingPushes(context.Background(), 10)
	require.NoError(t, err)
	require.Contains(t, pending, p.ID)
}

// A periodic sweep leaves young pending pushes to the gateway that may be
// routing them; the sweep at start takes them all.
func TestSweepLeavesYoungPushesAlone(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	var mu sync.Mutex
	routed := map[string]bool{}
	d := &scripted{calls: map[string]int{}, fn: func(_ string, _ int, b route.Batch) ([]route.Result, error) {
		mu.Lock()
		routed[b.Message.PushID] = true
		mu.Unlock()
		return all(route.Written, len(b.DeviceIDs)), nil
	}}
	g := New(Config{}, st, testRing(), d, nil, nil)
	ctx := context.Background()
	old := &store.Push{ID: ids.At(time.Now().Add(-time.Hour)), AppID: "app", Targets: targets(2), State: store.PushPending}
	young := &store.Push{ID: ids.New(), AppID: "app", Targets: targets(2), State: store.PushPending}
	for _, p := range []*store.Push{old, young} {
		_, err := st.CreatePush(ctx, p, "")
		require.NoError(t, err)
	}
	route := func(minAge time.Duration) map[string]bool {
		g.resumePending(ctx, minAge)
		for len(g.jobs) > 0 {
			job := <-g.jobs
			done := make(chan struct{})
			g.routeJob(ctx, job, func() { g.queued.Delete(job.id); close(done) })
			<-done
		}
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(routed)
	}
	require.Equal(t, map[string]bool{old.ID: true}, route(g.cfg.RouteTimeout+sweepMargin))
	require.Equal(t, map[string]bool{old.ID: true, young.ID: true}, route(0))
}

// Down tells a dispatcher which connectors routing passes over.
func TestDownReportsPassedOverConnectors(t *testing.T) {
	t.Parallel()
	g := New(Config{}, openStore(t), testRing(), &scripted{calls: map[string]int{}}, nil, nil)
	require.False(t, g.Down("a"))
	g.down.mark("a", time.Now())
	require.True(t, g.Down("a"))
	require.False(t, g.Down("b"))
	g.down.mark("b", time.Now().Add(-downFor))
	require.False(t, g.Down("b"), "a mark ends after downFor")
}

// failingFinish is a store whose first FinishPush fails.
type failingFinish struct {
	*pebblestore.Store
	failed atomic.Bool
}

func (f *failingFinish) FinishPush(ctx context.Context, id string, c store.Counts) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("store down")
	}
	return f.Store.FinishPush(ctx, id, c)
}

// A push whose finish fails stays pending without its routing counts; the
// sweep that routes it again counts them once, and a later routing of the
// done push adds nothing.
func TestAFailedFinishIsCountedOnceWhenRoutedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := &scripted{calls: map[string]int{}, fn: func(_ string, _ int, b route.Batch) ([]route.Result, error) {
		return all(route.Offline, len(b.DeviceIDs)), nil
	}}
	st := &failingFinish{Store: openStore(t)}
	g := New(Config{}, st, testRing(), d, nil, nil)
	p := &store.Push{ID: ids.New(), AppID: "app", Targets: targets(4), CreatedAt: time.Now(), State: store.PushPending}
	_, err := st.CreatePush(ctx, p, "")
	require.NoError(t, err)
	routeOnce := func(job routeJob) store.Push {
		released := make(chan struct{})
		g.routeJob(ctx, job, func() { close(released) })
		<-released
		got, err := st.Push(ctx, p.ID)
		require.NoError(t, err)
		return *got
	}

	got := routeOnce(routeJob{id: p.ID, push: p})
	require.Equal(t, store.PushPending, got.State, "left for the next sweep")
	require.Zero(t, got.Counts.Offline, "no counts without the finish")

	got = routeOnce(routeJob{id: p.ID}) // as a sweep resumes it
	require.Equal(t, store.PushDone, got.State)
	require.EqualValues(t, 4, got.Counts.Offline)

	require.NoError(t, st.FinishPush(ctx, p.ID, store.Counts{Offline: 4}), "a routing that raced the sweep")
	got = routeOnce(routeJob{id: p.ID, push: p})
	require.EqualValues(t, 4, got.Counts.Offline, "counted once")
}

func (s *scripted) Disconnect(context.Context, dispatcher.Node, route.Disconnect) (route.DisconnectResult, error) {
	return route.DisconnectResult{}, errors.New("not scripted")
}
