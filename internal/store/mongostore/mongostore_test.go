package mongostore

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/storetest"
)

// TestConformance runs the parts of the suite this backend implements,
// each subtest on a database of its own. Outcomes are per-device state,
// not business data: they live in Redis or Aerospike, not here.
func TestConformance(t *testing.T) {
	sharedMongo(t)
	storetest.Run(t, storetest.Harness{
		// On FerretDB every device write holds a record lock (locks.go).
		LockedUpdates: true,
		Tags:          true,
		ListsPushes:   true,
		LeasesPushes:  true,
		Parts: []string{storetest.PartApps, storetest.PartDevices, storetest.PartPushes, storetest.PartRelay,
			storetest.PartCampaigns, storetest.PartUsers},
		Open: func(t *testing.T, cfg storetest.Config) store.Store {
			s := openStore(t, Config{IdempotencyWindow: cfg.IdempotencyWindow, Now: cfg.Now})
			return storetest.Compose{A: s, D: s, P: s, C: s, K: s, U: s, CloseFunc: s.Close}
		},
	})
}

// TestConformanceWithRevisions runs the device part of the suite with the
// record locks off, as on MongoDB: device updates then rest on the
// revision in the replace's filter alone. FerretDB applies that filter in
// a read of its own before the write, so the check of concurrent updates
// is skipped; the sequential ones, a write between UpdateDevice's read and
// its write included, run.
func TestConformanceWithRevisions(t *testing.T) {
	sharedMongo(t)
	storetest.Run(t, storetest.Harness{
		RacyConditionalWrites: true,
		Tags:                  true,
		Parts:                 []string{storetest.PartDevices},
		Open: func(t *testing.T, cfg storetest.Config) store.Store {
			s := openStore(t, Config{})
			s.serial = nil
			return storetest.Compose{D: s, CloseFunc: s.Close}
		},
	})
}

func TestOpenPicksDeltasOnFerretDB(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{})
	require.Equal(t, CountDeltas, s.cfg.Counts, "the test server is FerretDB")
	require.Equal(t, DefaultTimeout, s.cfg.Timeout)
	require.EqualValues(t, DefaultMaxPoolSize, s.cfg.MaxPoolSize)
}

// TestCountInc covers the $inc path that MongoDB uses. It runs the calls
// one after another: FerretDB applies updates as read-modify-write, so
// concurrent ones could lose increments there (which is why CountAuto picks
// deltas on it).
func TestCountInc(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{Counts: CountInc})
	ctx := t.Context()
	p := &store.Push{ID: ids.New(), AppID: "a", State: store.PushPending}
	_, err := s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	d := store.Counts{Targeted: 1, Delivered: 2, Acked: 3, Offline: 4, Failed: 5, Relayed: 6,
		RelayFailed: 7, Expired: 8, NoChannel: 9, DeadTokens: 10, Opened: 11, Clicked: 12}
	for range 3 {
		require.NoError(t, s.AddCounts(ctx, p.ID, d))
	}
	require.NoError(t, s.FinishPush(ctx, p.ID, d))
	require.NoError(t, s.FinishPush(ctx, p.ID, d), "finishing a done push adds nothing")
	require.NoError(t, s.AddCounts(ctx, p.ID, store.Counts{}))
	got, err := s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, d.Add(d).Add(d).Add(d), got.Counts)
	require.Equal(t, store.PushDone, got.State)
	require.ErrorIs(t, s.AddCounts(ctx, "missing", d), store.ErrNotFound)
}

func TestOpenUnreachableFailsFast(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	start := time.Now()
	_, err = Open(t.Context(), Config{URI: "mongodb://" + addr, Timeout: 500 * time.Millisecond})
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorContains(t, err, addr)
	t.Logf("Open of an unreachable server failed after %s (Timeout 500ms): %v", time.Since(start).Round(time.Millisecond), err)
}

func TestOpenNeedsURI(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), Config{})
	require.Error(t, err)
	require.NotErrorIs(t, err, store.ErrUnavailable)
}

func TestCallsAfterClose(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{})
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err := s.AppByID(t.Context(), "x")
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, err, store.ErrUnavailable)
}

func TestPendingPushesLimitZero(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{})
	_, err := s.CreatePush(t.Context(), &store.Push{ID: ids.New(), AppID: "a"}, "")
	require.NoError(t, err)
	got, err := s.PendingPushes(t.Context(), 0)
	require.NoError(t, err)
	require.Empty(t, got)
}

// TestMapsWithOddKeys checks that map keys FerretDB and older MongoDB
// refuse as field names survive: maps are stored as pairs.
func TestMapsWithOddKeys(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{})
	ctx := t.Context()
	data := map[string]string{"a.b": "1", "$c": "2", "": "3"}
	p := &store.Push{ID: ids.New(), AppID: "a", Notification: store.Notification{Data: data}}
	_, err := s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	got, err := s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, data, got.Notification.Data)

	d := &store.Device{ID: ids.New(), AppID: "a", Tokens: map[string]string{"web.push": "t"}}
	require.NoError(t, s.PutDevice(ctx, d))
	devs, err := s.Devices(ctx, []string{d.ID})
	require.NoError(t, err)
	require.Equal(t, d.Tokens, devs[0].Tokens)
}

func TestMapErr(t *testing.T) {
	t.Parallel()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error
		not  error
	}{
		{"no document", live, mongo.ErrNoDocuments, store.ErrNotFound, nil},
		{"deadline", live, context.DeadlineExceeded, store.ErrUnavailable, nil},
		{"disconnected", live, mongo.ErrClientDisconnected, ErrClosed, nil},
		{"caller canceled", canceled, context.Canceled, context.Canceled, store.ErrUnavailable},
		{"shutting down", live, mongo.CommandError{Code: 91, Message: "shutdown"}, store.ErrUnavailable, nil},
		{"bad request", live, mongo.CommandError{Code: 2, Message: "bad value"}, nil, store.ErrUnavailable},
		{"duplicate", live, mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000}}}, store.ErrConflict, nil},
		{"ferretdb unique", live, mongo.CommandError{Code: 1, Message: "constraint failed: UNIQUE constraint failed: index 'x' (2067)"}, store.ErrConflict, nil},
		{"other internal", live, mongo.CommandError{Code: 1, Message: "no such table"}, nil, store.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mapErr(tt.ctx, "op", tt.err)
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}
			if tt.not != nil {
				require.NotErrorIs(t, err, tt.not)
			}
		})
	}
	require.NoError(t, mapErr(live, "op", nil))
}

func TestCountNamesCoverCounts(t *testing.T) {
	t.Parallel()
	require.Len(t, countNames(), len(store.Counts{}.Vector()), "a counter of store.Counts has no field name")
	c := store.Counts{Targeted: 1, Delivered: 2, Acked: 3, Offline: 4, Failed: 5, Relayed: 6,
		RelayFailed: 7, Expired: 8, NoChannel: 9, DeadTokens: 10, Opened: 11, Clicked: 12}
	require.Equal(t, c, toCountsDoc(c, false).counts())
	require.Len(t, toCountsDoc(store.Counts{Acked: 1}, true), 1)
	require.Equal(t, countsDoc{"opened": 1}, toCountsDoc(store.Counts{Opened: 1}, true))
	require.Equal(t, countsDoc{"clicked": 1}, toCountsDoc(store.Counts{Clicked: 1}, true))

	// A document written when there were ten counters reads with the new
	// ones zero.
	old := countsDoc{"targeted": 1, "delivered": 2, "acked": 3, "offline": 4, "failed": 5, "relayed": 6,
		"relay_failed": 7, "expired": 8, "no_channel": 9, "dead_tokens": 10}
	c.Opened, c.Clicked = 0, 0
	require.Equal(t, c, old.counts())
}

func TestCountModeString(t *testing.T) {
	t.Parallel()
	require.Equal(t, "auto", CountAuto.String())
	require.Equal(t, "inc", CountInc.String())
	require.Equal(t, "deltas", CountDeltas.String())
	require.Equal(t, "CountMode(9)", CountMode(9).String())
}

// TestReopen: opening a store on a database that already has its indexes
// works (FerretDB fails on repeating an existing compound index).
func TestReopen(t *testing.T) {
	t.Parallel()
	m := sharedMongo(t)
	for i := range 3 {
		s, err := Open(t.Context(), Config{URI: m.URI, Database: "reopen"})
		require.NoError(t, err, "open %d", i)
		require.NoError(t, s.Close())
	}
}

// In deltas mode, a finish interrupted after its counts were stored (the
// process killed before the state was set) and run again stores them once.
func TestFinishAfterAnInterruptedFinishCountsOnce(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{Counts: CountDeltas})
	ctx := t.Context()
	p := &store.Push{ID: ids.New(), AppID: "a", State: store.PushPending}
	_, err := s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	c := store.Counts{Offline: 3, Failed: 1}
	require.NoError(t, s.insertRouteDelta(ctx, p.ID, c)) // the first half of a finish
	got, err := s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, store.PushPending, got.State, "still pending: a sweep routes it again")

	require.NoError(t, s.FinishPush(ctx, p.ID, c))
	got, err = s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, store.PushDone, got.State)
	require.Equal(t, c, got.Counts, "counted once")
}
