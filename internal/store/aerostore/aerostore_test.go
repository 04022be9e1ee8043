package aerostore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/storetest"
	"github.com/mopush/mopush/internal/testsrv/aerofake"
)

// The tests in this file need an Aerospike server. MOPUSH_TEST_AEROSPIKE
// names a real one (host:port); MOPUSH_TEST_AEROSPIKE_NAMESPACE names a
// namespace configured on it (default "test", the namespace of the stock
// server configuration). Without it each test starts an in-memory server
// that speaks the protocol (internal/testsrv/aerofake). Every test writes
// into sets of its own, which it truncates when it ends.
const (
	envServer    = "MOPUSH_TEST_AEROSPIKE"
	envNamespace = "MOPUSH_TEST_AEROSPIKE_NAMESPACE"
)

// testServer returns the address and namespace of the server to test
// against: the one MOPUSH_TEST_AEROSPIKE names, else a fake started for
// this test and closed when it ends.
func testServer(tb testing.TB) (addr, namespace string) {
	tb.Helper()
	if addr = os.Getenv(envServer); addr != "" {
		namespace = os.Getenv(envNamespace)
		if namespace == "" {
			namespace = "test"
		}
		return addr, namespace
	}
	srv, err := aerofake.Start(aerofake.Config{Namespaces: []string{"test"}})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, srv.Close()) })
	return srv.Addr(), "test"
}

// openTestStore opens a store on the test server with sets of its own,
// which are truncated before the store is closed when the test ends.
func openTestStore(tb testing.TB, cfg Config) *Store {
	tb.Helper()
	addr, namespace := testServer(tb)
	return openStoreOn(tb, addr, namespace, cfg)
}

// openStoreOn is openTestStore on the server at addr.
func openStoreOn(tb testing.TB, addr, namespace string, cfg Config) *Store {
	tb.Helper()
	cfg.Hosts = []string{addr}
	cfg.Namespace = namespace
	cfg.SetPrefix = testSetPrefix()
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	s, err := Open(tb.Context(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { closeTestStore(tb, s) })
	return s
}

// closeTestStore truncates the store's sets and closes it.
func closeTestStore(tb testing.TB, s *Store) {
	if s.closed.Load() {
		return
	}
	for _, set := range []string{s.devices, s.aliases, s.streams} {
		if err := s.client.Truncate(nil, s.cfg.Namespace, set, nil); err != nil {
			tb.Logf("truncate %s: %v", set, err)
		}
	}
	require.NoError(tb, s.Close())
}

func testSetPrefix() string {
	var b [5]byte
	rand.Read(b[:]) //nolint:errcheck // never fails
	return "t" + hex.EncodeToString(b[:]) + "_"
}

// TestConformance runs the parts of the conformance suite that this backend
// implements.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Parts: []string{storetest.PartDevices, storetest.PartStreams, storetest.PartOutcomes},
		Open: func(t *testing.T, cfg storetest.Config) store.Store {
			s := openTestStore(t, Config{MaxStreamLen: cfg.MaxStreamLen, Now: cfg.Now})
			return storetest.AckedCompose{Compose: storetest.Compose{D: s, S: s, O: s, CloseFunc: func() error {
				closeTestStore(t, s)
				return nil
			}}, R: s}
		},
	})
}

// TestOutcomesWithoutStream checks that outcomes, which share the stream
// record, do not make a stream of their own.
func TestOutcomesWithoutStream(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, Config{})
	ctx := t.Context()
	_, set, err := s.SetOutcome(ctx, "d", 1, store.OutcomeRelayed)
	require.NoError(t, err)
	require.True(t, set)
	prev, set, err := s.SetOutcome(ctx, "d", 1, store.OutcomeNone)
	require.NoError(t, err)
	require.False(t, set)
	require.Equal(t, store.OutcomeRelayed, prev)

	p, err := s.ReadStream(ctx, "d", 0, 0, 10)
	require.NoError(t, err)
	require.Equal(t, store.Page{Recovered: true}, p)
	msgs, err := s.Advance(ctx, "d", store.MarkAcked, 5)
	require.NoError(t, err)
	require.Empty(t, msgs)
	mark, err := s.Watermark(ctx, "d", store.MarkAcked)
	require.NoError(t, err)
	require.Zero(t, mark)

	pos, err := s.Append(ctx, []store.Entry{{DeviceID: "d"}})
	require.NoError(t, err)
	require.EqualValues(t, 1, pos[0].Seq, "the first append starts the stream")
	o, err := s.OutcomeOf(ctx, "d", 1)
	require.NoError(t, err)
	require.Equal(t, store.OutcomeRelayed, o)
}

// TestOutcomesBounded checks that the outcome map keeps the highest
// Config.MaxStreamLen sequence numbers.
func TestOutcomesBounded(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, Config{MaxStreamLen: 3})
	ctx := t.Context()
	dev := ids.New()
	_, err := s.Append(ctx, []store.Entry{{DeviceID: dev}, {DeviceID: dev}, {DeviceID: dev}, {DeviceID: dev}, {DeviceID: dev}})
	require.NoError(t, err)
	for seq := uint64(1); seq <= 5; seq++ {
		_, set, err := s.SetOutcome(ctx, dev, seq, store.OutcomeRelayed)
		require.NoError(t, err)
		require.True(t, set)
	}
	for seq, want := range map[uint64]store.Outcome{1: store.OutcomeNone, 2: store.OutcomeNone, 3: store.OutcomeRelayed, 5: store.OutcomeRelayed} {
		o, err := s.OutcomeOf(ctx, dev, seq)
		require.NoError(t, err)
		require.Equal(t, want, o, "seq %d", seq)
	}
}

// TestRecordSize checks what happens at the record size limit (1 MiB by
// default, 8 MiB at most): a stream of big messages keeps fewer of them,
// and one append that cannot fit fails with ErrRecordTooBig.
func TestRecordSize(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, Config{})
	ctx := t.Context()
	dev := ids.New()
	body := strings.Repeat("x", 64<<10)
	var last store.Position
	for i := range 200 { // 12.5 MiB in all
		pos, err := s.Append(ctx, []store.Entry{{DeviceID: dev, Message: store.Message{PushID: ids.New(), Body: body}}})
		require.NoError(t, err, "append %d", i)
		last = pos[0]
	}
	require.EqualValues(t, 200, last.Seq)
	p, err := s.ReadStream(ctx, dev, last.Epoch, 0, 1000)
	require.NoError(t, err)
	require.False(t, p.Recovered, "the oldest messages were dropped")
	require.EqualValues(t, 200, p.Head)
	require.Less(t, len(p.Messages), 200)
	require.NotEmpty(t, p.Messages)
	require.EqualValues(t, 200, p.Messages[len(p.Messages)-1].Seq)
	t.Logf("a stream of 64 KiB messages keeps %d of them", len(p.Messages))

	huge := strings.Repeat("y", 9<<20)
	_, err = s.Append(ctx, []store.Entry{{DeviceID: dev, Message: store.Message{Body: huge}}})
	require.True(t, errors.Is(err, ErrRecordTooBig), "%v", err)
	p2, err := s.ReadStream(ctx, dev, last.Epoch, 199, 10)
	require.NoError(t, err)
	require.EqualValues(t, 200, p2.Head, "the failed append left the stream alone")
}

// Once a stream of big messages is at the record size limit, an append
// takes one round trip: the store remembers how many messages fit and
// starts there, and only every probeEvery-th append tries for more. The
// stream keeps what fits, not half of it. This counts the round trips, so
// it runs on the fake whatever MOPUSH_TEST_AEROSPIKE says.
func TestAppendAtTheSizeLimitStartsFromWhatFits(t *testing.T) {
	t.Parallel()
	srv, err := aerofake.Start(aerofake.Config{Namespaces: []string{"test"}, MaxRecordSize: 1 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	s := openStoreOn(t, srv.Addr(), "test", Config{})
	ctx := t.Context()
	dev := ids.New()
	body := strings.Repeat("x", 64<<10)
	appendOne := func() store.Position {
		pos, err := s.Append(ctx, []store.Entry{{DeviceID: dev, Message: store.Message{PushID: ids.New(), Body: body}}})
		require.NoError(t, err)
		return pos[0]
	}
	for range 20 { // past the limit: about 15 of them fit
		appendOne()
	}
	full, err := s.ReadStream(ctx, dev, 0, 0, 1000)
	require.NoError(t, err)
	fit := len(full.Messages)
	require.Less(t, fit, 20)

	const n = 2 * probeEvery
	before := srv.Messages()
	var last store.Position
	for range n {
		last = appendOne()
	}
	calls := srv.Messages() - before
	t.Logf("%d appends to a stream at the limit took %d commands", n, calls)
	// One per append, and one more for each probe that does not fit.
	require.LessOrEqual(t, calls, int64(n+n/probeEvery), "round trips for %d appends", n)
	p, err := s.ReadStream(ctx, dev, last.Epoch, 0, 1000)
	require.NoError(t, err)
	require.Len(t, p.Messages, fit, "the stream keeps what fits")
	require.Equal(t, last.Seq, p.Messages[len(p.Messages)-1].Seq)
}

// TestPutDeviceRace moves one device between aliases from many goroutines:
// when they are done, the index finds the device under its final alias
// only.
func TestPutDeviceRace(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, Config{})
	ctx := t.Context()
	dev := &store.Device{ID: ids.New(), AppID: "app"}
	aliases := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	var failed sync.Map
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				d := *dev
				d.Alias = aliases[(g+i)%len(aliases)]
				if err := s.PutDevice(ctx, &d); err != nil {
					failed.Store(g, err)
					return
				}
			}
		})
	}
	wg.Wait()
	failed.Range(func(k, v any) bool { t.Errorf("worker %v: %v", k, v); return true })
	got, err := s.Devices(ctx, []string{dev.ID})
	require.NoError(t, err)
	require.NotNil(t, got[0])
	found, err := s.DeviceIDsByAlias(ctx, "app", []string{got[0].Alias})
	require.NoError(t, err)
	require.Equal(t, []string{dev.ID}, found)
	for _, a := range aliases {
		if a == got[0].Alias {
			continue
		}
		found, err := s.DeviceIDsByAlias(ctx, "app", []string{a})
		require.NoError(t, err)
		require.Empty(t, found, "alias %s", a)
	}
}

// TestRenewEpoch: storetest.RenewEpoch on the Aerospike store.
func TestRenewEpoch(t *testing.T) {
	t.Parallel()
	storetest.RenewEpoch(t, openTestStore(t, Config{}), "renew-")
}
