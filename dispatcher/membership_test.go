package dispatcher

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/bus"
	"github.com/mopush/mopush/internal/obs/obstest"
)

// waitLimit bounds every wait in these tests; the waits end as soon as
// their condition holds.
const waitLimit = 20 * time.Second

func openBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.Open(bus.Config{Dir: t.TempDir()}, nil)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	return b
}

// runTask runs fn in a goroutine until the returned stop is called (or
// the test ends); stop returns fn's error.
func runTask(t *testing.T, fn func(context.Context) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- fn(ctx) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-errc
		}
		return err
	}
	t.Cleanup(func() { stop() }) //nolint:errcheck // tests that care call stop
	return stop
}

func startMembership(t *testing.T, js jetstream.JetStream, ttl time.Duration, m *Metrics) (*Membership, <-chan struct{}) {
	t.Helper()
	ms := NewMembership(js, MembershipConfig{TTL: ttl}, nil, m)
	changes := ms.Changes()
	runTask(t, ms.Run)
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	require.NoError(t, ms.WaitReady(ctx))
	return ms, changes
}

// waitRing waits, change by change, until the ring holds exactly want.
func waitRing(t *testing.T, ms *Membership, changes <-chan struct{}, want ...string) {
	t.Helper()
	slices.Sort(want)
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		got := ids(ms.Ring().Nodes())
		if slices.Equal(got, want) {
			return
		}
		select {
		case <-changes:
		case <-deadline.C:
			t.Fatalf("ring is %v, want %v", got, want)
		}
	}
}

func connector(id string) Node {
	return Node{ID: id, WSURL: "ws://" + id + "/v1/connect", InternalURL: "http://" + id, Weight: 1}
}

func TestMembershipFollowsRegistrations(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	require.NoError(t, err)
	ms, changes := startMembership(t, b.JS, 5*time.Second, metrics)
	require.Zero(t, ms.Ring().Len())

	stops := map[string]func() error{}
	for _, id := range []string{"conn-a", "conn-b", "conn c/with odd chars"} {
		stops[id] = runTask(t, NewRegistration(b.JS, connector(id), 5*time.Second, nil).Run)
	}
	waitRing(t, ms, changes, "conn-a", "conn-b", "conn c/with odd chars")
	got, ok := ms.Ring().Node("conn c/with odd chars")
	require.True(t, ok)
	require.Equal(t, connector("conn c/with odd chars"), got)
	require.Equal(t, 3.0, obstest.Value(t, reg, "push_dispatcher_ring_nodes", nil))

	require.NoError(t, stops["conn-b"](), "graceful leave deletes the key")
	waitRing(t, ms, changes, "conn-a", "conn c/with odd chars")
	require.Equal(t, 2.0, obstest.Value(t, reg, "push_dispatcher_ring_nodes", nil))
}

// A connector that dies without deleting its key leaves the ring when the
// key expires: no health checks, only the bucket's TTL.
func TestMembershipExpiresCrashedConnector(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	const ttl = 2 * time.Second
	ms, changes := startMembership(t, b.JS, ttl, nil)
	runTask(t, NewRegistration(b.JS, connector("live"), ttl, nil).Run)

	kv, err := b.JS.KeyValue(t.Context(), Bucket)
	require.NoError(t, err)
	val, err := json.Marshal(connector("crashed"))
	require.NoError(t, err)
	_, err = kv.Put(t.Context(), "crashed", val) // one put, never refreshed
	require.NoError(t, err)

	waitRing(t, ms, changes, "crashed", "live")
	waitRing(t, ms, changes, "live")
	_, err = kv.Get(t.Context(), "crashed")
	require.ErrorIs(t, err, jetstream.ErrKeyNotFound)
}

// WaitReady returns after the bucket's existing members are on the ring;
// entries that are not valid nodes under their key are left out.
func TestMembershipInitialSnapshot(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	kv, err := b.JS.CreateKeyValue(t.Context(), bucketConfig(time.Minute))
	require.NoError(t, err)
	for _, id := range []string{"one", "two"} {
		val, err := json.Marshal(connector(id))
		require.NoError(t, err)
		_, err = kv.Put(t.Context(), id, val)
		require.NoError(t, err)
	}
	_, err = kv.Put(t.Context(), "garbage", []byte("{not json"))
	require.NoError(t, err)
	val, err := json.Marshal(connector("elsewhere"))
	require.NoError(t, err)
	_, err = kv.Put(t.Context(), "wrong-key", val)
	require.NoError(t, err)
	require.NoError(t, kv.Delete(t.Context(), "two"))

	ms, changes := startMembership(t, b.JS, 0, nil)
	require.Equal(t, []string{"one"}, ids(ms.Ring().Nodes()), "ready means the snapshot is applied")
	select {
	case <-changes:
	default:
		t.Fatal("the first non-empty snapshot is a change")
	}
}

func TestMembershipWaitReadyAndRunOnce(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	ms := NewMembership(b.JS, MembershipConfig{}, nil, nil)
	require.NotNil(t, ms.Ring())
	require.Zero(t, ms.Ring().Len())

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, ms.WaitReady(ctx), context.Canceled, "not running: the context decides")

	require.NoError(t, ms.Run(ctx), "a cancelled context ends Run cleanly")
	require.ErrorIs(t, ms.WaitReady(t.Context()), ErrStopped)
	require.ErrorIs(t, ms.Run(t.Context()), ErrRunning)
}

// Every subscriber hears of a change; a slow one gets the changes merged.
func TestMembershipChangesFanOut(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	ms, first := startMembership(t, b.JS, 0, nil)
	second := ms.Changes()
	runTask(t, NewRegistration(b.JS, connector("x"), 0, nil).Run)
	runTask(t, NewRegistration(b.JS, connector("y"), 0, nil).Run)
	waitRing(t, ms, first, "x", "y")
	select {
	case <-second: // one or two values' worth of changes, merged
	case <-time.After(waitLimit):
		t.Fatal("second subscriber not notified")
	}
	require.Equal(t, []string{"x", "y"}, ids(ms.Ring().Nodes()))
}

// A connector restarted under the same ID keeps its key when the old
// process leaves late.
func TestRegistrationLeaveKeepsSuccessorsKey(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	ms, changes := startMembership(t, b.JS, 0, nil)
	oldStop := runTask(t, NewRegistration(b.JS, connector("same"), time.Minute, nil).Run) // no refresh during the test
	waitRing(t, ms, changes, "same")

	kv, err := b.JS.KeyValue(t.Context(), Bucket)
	require.NoError(t, err)
	successor := connector("same")
	successor.WSURL = "ws://new/v1/connect"
	val, err := json.Marshal(successor)
	require.NoError(t, err)
	_, err = kv.Put(t.Context(), "same", val)
	require.NoError(t, err)

	require.NoError(t, oldStop())
	e, err := kv.Get(t.Context(), "same")
	require.NoError(t, err)
	require.JSONEq(t, string(val), string(e.Value()))
}

func TestRegistrationRefusesBadID(t *testing.T) {
	t.Parallel()
	r := NewRegistration(nil, Node{}, 0, nil)
	require.ErrorIs(t, r.Run(t.Context()), ErrInvalidNodeID)
}

// watchTracker hands out the bucket with its watchers recorded, so that a
// test can end a watch under a running Membership.
type watchTracker struct {
	jetstream.JetStream
	watchers chan jetstream.KeyWatcher
}

func (w *watchTracker) KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	kv, err := w.JetStream.KeyValue(ctx, bucket)
	if err != nil {
		return nil, err
	}
	return trackedKV{KeyValue: kv, watchers: w.watchers}, nil
}

type trackedKV struct {
	jetstream.KeyValue
	watchers chan jetstream.KeyWatcher
}

func (kv trackedKV) WatchAll(ctx context.Context, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	kw, err := kv.KeyValue.WatchAll(ctx, opts...)
	if err == nil {
		kv.watchers <- kw
	}
	return kw, err
}

// A watch that ends is started again, and its fresh snapshot replaces the
// members: a leave that happened while no watch ran is not missed.
func TestMembershipRestartsWatch(t *testing.T) {
	t.Parallel()
	b := openBus(t)
	_, err := b.JS.CreateKeyValue(t.Context(), bucketConfig(DefaultTTL))
	require.NoError(t, err)
	js := &watchTracker{JetStream: b.JS, watchers: make(chan jetstream.KeyWatcher, 4)}
	stopR := runTask(t, NewRegistration(b.JS, connector("r"), 0, nil).Run)
	ms := NewMembership(js, MembershipConfig{}, nil, nil)
	changes := ms.Changes()
	runTask(t, ms.Run)
	waitRing(t, ms, changes, "r")

	first := <-js.watchers
	require.NoError(t, first.Stop())
	require.NoError(t, stopR())
	runTask(t, NewRegistration(b.JS, connector("s"), 0, nil).Run)
	waitRing(t, ms, changes, "s")
	select {
	case <-js.watchers:
	default:
		t.Fatal("no second watch")
	}
}
