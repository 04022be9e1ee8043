package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/bus"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
	"github.com/mopush/mopush/internal/store/storetest"
	"github.com/mopush/mopush/relay"
)

// fakeSender answers with a scripted error and tracks concurrency.
type fakeSender struct {
	err     func(*relay.Message) error
	hold    time.Duration
	active  atomic.Int32
	maxSeen atomic.Int32
	sent    atomic.Int32
}

func (f *fakeSender) Vendor() string { return "apns" }

func (f *fakeSender) Send(_ context.Context, m *relay.Message) (relay.Result, error) {
	n := f.active.Add(1)
	defer f.active.Add(-1)
	for {
		old := f.maxSeen.Load()
		if n <= old || f.maxSeen.CompareAndSwap(old, n) {
			break
		}
	}
	if f.hold > 0 {
		<-time.After(f.hold) // the vendor's own time, not a wait for an outcome
	}
	if f.err != nil {
		if err := f.err(m); err != nil {
			return relay.Result{}, err
		}
	}
	f.sent.Add(1)
	return relay.Result{}, nil
}

type fakeSenders struct{ s relay.Sender }

func (f fakeSenders) Sender(context.Context, string, string) (relay.Sender, error) { return f.s, nil }

// msgStub is a jetstream.Msg whose only answer is its delivery count.
type msgStub struct {
	jetstream.Msg
	delivered uint64
}

func (m msgStub) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{NumDelivered: m.delivered}, nil
}

type fixture struct {
	st  *pebblestore.Store
	app string
}

func newFixture(t testing.TB) *fixture {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, app: "app-" + ids.New()}
	require.NoError(t, st.CreateApp(context.Background(), &store.App{ID: f.app, Name: "a", Key: "k" + f.app, CreatedAt: time.Now()}))
	require.NoError(t, st.PutCredential(context.Background(), f.app, "apns", []byte("sealed")))
	return f
}

// target makes a device with an APNs token, a push to it, and its job.
func (f *fixture) target(t testing.TB) relayq.Job {
	ctx := context.Background()
	dev := &store.Device{ID: ids.New(), AppID: f.app, Secret: ids.Secret(32), Tokens: map[string]string{"apns": "tok-" + ids.New()}}
	require.NoError(t, f.st.PutDevice(ctx, dev))
	p := &store.Push{ID: ids.New(), AppID: f.app, Targets: []string{dev.ID}, CreatedAt: time.Now(),
		ExpiresAt: time.Now().Add(time.Hour), Notification: store.Notification{Title: "t", Body: "b"}, State: store.PushPending}
	_, err := f.st.CreatePush(ctx, p, "")
	require.NoError(t, err)
	return relayq.Job{PushID: p.ID, AppID: f.app, DeviceID: dev.ID, Vendor: "apns", Token: dev.Tokens["apns"]}
}

func (f *fixture) counts(t testing.TB, pushID string) store.Counts {
	p, err := f.st.Push(context.Background(), pushID)
	require.NoError(t, err)
	return p.Counts
}

// An outcome whose counter write the store refuses is recorded, and its
// job finishes; the count is written once the store takes it. Before, the
// job failed, and its retry found the outcome set and counted nothing.
func TestOutcomeCountsWaitForTheStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	st := &storetest.RefusingCounts{Store: f.st}
	e := New(Config{MaxAttempts: 3}, nil, st, nil, nil, nil)
	ctx := context.Background()
	j := f.target(t)
	st.Refuse.Store(true)
	delay, err := e.result(ctx, msgStub{delivered: 1}, j, nil)
	require.NoError(t, err, "the job is done")
	require.Zero(t, delay)
	o, err := outcome.Of(ctx, f.st, target(j))
	require.NoError(t, err)
	require.Equal(t, store.OutcomeRelayed, o)
	e.sums.Flush(ctx)
	require.Equal(t, store.Counts{}, f.counts(t, j.PushID), "nothing written while refused")
	st.Refuse.Store(false)
	e.sums.Flush(ctx)
	require.Equal(t, store.Counts{Relayed: 1}, f.counts(t, j.PushID))
	e.sums.Flush(ctx)
	require.Equal(t, store.Counts{Relayed: 1}, f.counts(t, j.PushID), "once")
}

func TestResultMapping(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := New(Config{MaxAttempts: 3, MinBackoff: time.Second, MaxBackoff: time.Second}, nil, f.st, nil, nil, nil)
	ctx := context.Background()
	cases := []struct {
		name      string
		err       error
		attempt   uint64
		wantDelay time.Duration // at least
		want      store.Counts
	}{
		{"ok", nil, 1, 0, store.Counts{Relayed: 1}},
		{"dead token", &relay.DeadTokenError{Vendor: "apns", Reason: "Unregistered"}, 1, 0, store.Counts{RelayFailed: 1, DeadTokens: 1}},
		{"retry after", &relay.RetryError{Vendor: "apns", Status: 429, After: 7 * time.Second}, 1, 7 * time.Second, store.Counts{}},
		{"retry without after", &relay.RetryError{Vendor: "apns", Status: 503}, 1, 500 * time.Millisecond, store.Counts{}},
		{"retries used up", &relay.RetryError{Vendor: "apns", Status: 503}, 3, 0, store.Counts{RelayFailed: 1}},
		{"expired", fmt.Errorf("x: %w", relay.ErrExpired), 1, 0, store.Counts{Expired: 1}},
		{"bad credentials", fmt.Errorf("x: %w", relay.ErrBadCredentials), 1, 0, store.Counts{RelayFailed: 1}},
		{"rejected", fmt.Errorf("x: %w", relay.ErrRejected), 1, 0, store.Counts{RelayFailed: 1}},
	}
	for _, c := range cases {
		j := f.target(t)
		delay, err := e.result(ctx, msgStub{delivered: c.attempt}, j, c.err)
		require.NoError(t, err, c.name)
		require.GreaterOrEqual(t, delay, c.wantDelay, c.name)
		if c.wantDelay == 0 {
			require.Zero(t, delay, c.name)
		}
		e.sums.Flush(ctx) // as Run does every countFlushInterval
		require.Equal(t, c.want, f.counts(t, j.PushID), c.name)
		if c.want.DeadTokens > 0 {
			devs, err := f.st.Devices(ctx, []string{j.DeviceID})
			require.NoError(t, err)
			require.Empty(t, devs[0].Tokens, "dead token removed")
		}
	}
	// A cancelled send is neither an outcome nor a delay: the job is retried.
	j := f.target(t)
	_, err := e.result(ctx, msgStub{delivered: 1}, j, context.Canceled)
	require.Error(t, err)
	o, err := outcome.Of(ctx, f.st, target(j))
	require.NoError(t, err)
	require.Equal(t, store.OutcomeNone, o)
}

// runEngine runs an engine on an embedded bus until the test ends.
func runEngine(t testing.TB, cfg Config, st Store, s Senders, reg prometheus.Registerer) (*Engine, *relayq.Publisher) {
	return runEngineOn(t, bus.Config{Dir: t.TempDir()}, cfg, st, s, reg)
}

// runEngineOn is runEngine on an embedded bus configured by bc.
func runEngineOn(t testing.TB, bc bus.Config, cfg Config, st Store, s Senders, reg prometheus.Registerer) (*Engine, *relayq.Publisher) {
	// Retries come soon: what these tests check does not depend on the
	// production backoff, and a publish that times out on a loaded machine
	// must not push a retry past their deadlines.
	if cfg.MinBackoff == 0 && cfg.MaxBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	}
	b, err := bus.Open(bc, nil)
	require.NoError(t, err)
	// The stream exists before the engine starts, as in a node (which
	// ensures it before it runs the relay). Updated while the engine
	// created its consumers, it made the NATS server race with itself
	// (fileStore.UpdateConfig against ConsumerStore), which -race reported.
	_, err = relayq.Ensure(context.Background(), b.JS)
	require.NoError(t, err)
	e := New(cfg, b.JS, st, s, testLogger(t), reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		b.Close()
	})
	return e, &relayq.Publisher{JS: b.JS}
}

func waitRelayed(t testing.TB, f *fixture, jobs []relayq.Job) {
	deadline := time.Now().Add(60 * time.Second)
	for _, j := range jobs {
		for f.counts(t, j.PushID).Relayed != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("push %s not relayed", j.PushID)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func TestPerCredentialBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fs := &fakeSender{hold: 20 * time.Millisecond}
	_, pub := runEngine(t, Config{Workers: 16, PerCredential: 2}, f.st, fakeSenders{fs}, nil)
	jobs := make([]relayq.Job, 20)
	for i := range jobs {
		jobs[i] = f.target(t)
		jobs[i].Vendor, jobs[i].Token = "", ""
		jobs[i].DueMs = time.Now().UnixMilli()
	}
	require.NoError(t, pub.Schedule(context.Background(), jobs))
	waitRelayed(t, f, jobs)
	require.EqualValues(t, 20, fs.sent.Load())
	require.LessOrEqual(t, fs.maxSeen.Load(), int32(2), "at most PerCredential sends at once")
}

func TestNoChannelWithoutCredential(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.NoError(t, f.st.DeleteCredential(context.Background(), f.app, "apns"))
	_, pub := runEngine(t, Config{}, f.st, fakeSenders{&fakeSender{}}, nil)
	j := f.target(t)
	j.Vendor, j.Token, j.DueMs = "", "", time.Now().UnixMilli()
	require.NoError(t, pub.Schedule(context.Background(), []relayq.Job{j}))
	deadline := time.Now().Add(20 * time.Second)
	for f.counts(t, j.PushID).NoChannel != 1 {
		require.True(t, time.Now().Before(deadline), "no_channel recorded")
		time.Sleep(2 * time.Millisecond)
	}
}

func histSum(t testing.TB, reg *prometheus.Registry, name string, label string) float64 {
	mfs, err := reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || hasLabel(m, label) {
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetValue() == v {
			return true
		}
	}
	return false
}

// BenchmarkRelay measures jobs through the whole relay (queue, fallback
// check, send job, vendor call, outcome) against a sender that takes a
// fixed 1 ms, as a vendor does. Each iteration relays a batch of 200 jobs;
// it reports msgs/s and the share of a job's time spent outside the vendor
// call (share-ours).
// BenchmarkRelay runs jobs through the whole relay, with the embedded
// JetStream syncing every write (the default) and every 2 minutes (the NATS
// server's own default).
func BenchmarkRelay(b *testing.B) {
	for _, sync := range []string{"always", "2m"} {
		for _, conc := range []int{1, 10, 100} {
			b.Run(fmt.Sprintf("sync=%s/concurrency=%d", sync, conc), func(b *testing.B) {
				benchmarkRelay(b, bus.Config{Dir: b.TempDir(), Sync: sync}, conc)
			})
		}
	}
}

func benchmarkRelay(b *testing.B, bc bus.Config, conc int) {
	f := newFixture(b)
	reg := prometheus.NewRegistry()
	fs := &fakeSender{hold: time.Millisecond}
	_, pub := runEngineOn(b, bc, Config{Workers: conc, PerCredential: conc}, f.st, fakeSenders{fs}, reg)
	const batch = 200
	var busy time.Duration
	for b.Loop() {
		b.StopTimer()
		jobs := make([]relayq.Job, batch)
		for i := range jobs {
			jobs[i] = f.target(b)
			jobs[i].Vendor, jobs[i].Token = "", ""
		}
		b.StartTimer()
		want := fs.sent.Load() + batch
		start := time.Now()
		require.NoError(b, pub.Schedule(context.Background(), jobs))
		deadline := start.Add(60 * time.Second)
		for fs.sent.Load() < want {
			require.True(b, time.Now().Before(deadline), "relay stalled")
			time.Sleep(50 * time.Microsecond)
		}
		busy += time.Since(start)
	}
	b.ReportMetric(float64(fs.sent.Load())/busy.Seconds(), "msgs/s")
	vendor := histSum(b, reg, "push_relay_send_seconds", "")
	total := histSum(b, reg, "push_relay_job_seconds", "")
	if total > 0 {
		b.ReportMetric(1-vendor/total, "share-ours")
	}
}

// testLogger returns a logger that writes warnings and errors to the test's
// log, so that a failing test shows why jobs were retried.
func testLogger(t testing.TB) *slog.Logger {
	w := &testLog{t: t}
	t.Cleanup(w.stop) // registered first, so it runs after the engine stopped
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testLog struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testLog) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

// A due check of a target that its device acknowledged (the ack watermark
// is past it) records the acknowledgement when no outcome is recorded, as a
// connector killed between moving the watermark and recording leaves it;
// another outcome stays.
func TestCheckRecordsAnAcknowledgementLeftUnrecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	e := New(Config{}, nil, f.st, nil, nil, reg)
	job := func() relayq.Job {
		j := f.target(t)
		pos, err := f.st.Append(ctx, []store.Entry{{DeviceID: j.DeviceID, Message: store.Message{PushID: j.PushID}}})
		require.NoError(t, err)
		_, err = f.st.Advance(ctx, j.DeviceID, store.MarkAcked, pos[0].Seq) // the outcome is not recorded
		require.NoError(t, err)
		j.Seq, j.Epoch, j.DueMs = pos[0].Seq, pos[0].Epoch, time.Now().UnixMilli()
		return j
	}
	unrecorded, expired := job(), job()
	_, set, err := f.st.SetOutcome(ctx, expired.DeviceID, expired.Seq, store.OutcomeExpired)
	require.NoError(t, err)
	require.True(t, set)

	for _, j := range []relayq.Job{unrecorded, expired} {
		send, err := e.fallback(ctx, j)
		require.NoError(t, err)
		require.Nil(t, send, "acknowledged: nothing to relay")
	}
	e.sums.Flush(ctx)
	o, err := outcome.Of(ctx, f.st, target(unrecorded))
	require.NoError(t, err)
	require.Equal(t, store.OutcomeAcked, o)
	require.Equal(t, store.Counts{Acked: 1}, f.counts(t, unrecorded.PushID))
	o, err = outcome.Of(ctx, f.st, target(expired))
	require.NoError(t, err)
	require.Equal(t, store.OutcomeExpired, o, "a recorded outcome stays")
	require.Equal(t, store.Counts{}, f.counts(t, expired.PushID))
	require.Equal(t, 1.0, obstest.Value(t, reg, "push_relay_acks_recorded_total", nil))

	// A second check changes nothing.
	_, err = e.fallback(ctx, unrecorded)
	require.NoError(t, err)
	e.sums.Flush(ctx)
	require.Equal(t, store.Counts{Acked: 1}, f.counts(t, unrecorded.PushID))
}

// staleDevices answers Devices from a snapshot taken when the jobs were
// queued, as a read racing other writers would.
type staleDevices struct {
	*pebblestore.Store
	snapshot storetest.Snapshot
}

func (s staleDevices) Devices(_ context.Context, ids []string) ([]*store.Device, error) {
	return s.snapshot.Devices(ids), nil
}

// A dead token is removed from the device as stored, not from a version
// read earlier: a token the device renewed since the job was queued
// stays, and so does what other writers changed; a deleted device is not
// written back.
func TestDeadTokenRemovalKeepsOtherChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	dead := &relay.DeadTokenError{Vendor: "apns", Reason: "Unregistered"}
	j, renewed, gone := f.target(t), f.target(t), f.target(t)
	stale := staleDevices{Store: f.st, snapshot: storetest.Snapshot{}}
	for _, x := range []relayq.Job{j, renewed, gone} {
		devs, err := f.st.Devices(ctx, []string{x.DeviceID})
		require.NoError(t, err)
		stale.snapshot[x.DeviceID] = devs[0]
	}
	e := New(Config{}, nil, stale, nil, nil, nil)

	_, err := f.st.UpdateDevice(ctx, j.DeviceID, func(d *store.Device) bool {
		d.Tokens["fcm"], d.Alias = "f1", "alice"
		return true
	})
	require.NoError(t, err)
	_, err = e.result(ctx, msgStub{delivered: 1}, j, dead)
	require.NoError(t, err)
	devs, err := f.st.Devices(ctx, []string{j.DeviceID})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"fcm": "f1"}, devs[0].Tokens)
	require.Equal(t, "alice", devs[0].Alias)

	_, err = f.st.UpdateDevice(ctx, renewed.DeviceID, func(d *store.Device) bool {
		d.Tokens["apns"] = "renewed"
		return true
	})
	require.NoError(t, err)
	_, err = e.result(ctx, msgStub{delivered: 1}, renewed, dead)
	require.NoError(t, err)
	devs, err = f.st.Devices(ctx, []string{renewed.DeviceID})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"apns": "renewed"}, devs[0].Tokens, "the renewed token stays")

	require.NoError(t, f.st.DeleteDevice(ctx, gone.DeviceID))
	_, err = e.result(ctx, msgStub{delivered: 1}, gone, dead)
	require.NoError(t, err)
	devs, err = f.st.Devices(ctx, []string{gone.DeviceID})
	require.NoError(t, err)
	require.Nil(t, devs[0], "the deleted device was not written back")
}
