// Package storetest is the conformance suite of store.Store: every backend
// (Pebble, and Redis, MongoDB and Aerospike when they come) runs the same
// tests through Run, so they agree on every rule the interfaces state.
//
// A backend test adapts itself with a Harness:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			Open: func(t *testing.T, cfg storetest.Config) store.Store {
//				s, err := mybackend.Open(...cfg...)
//				require.NoError(t, err)
//				return s
//			},
//		})
//	}
//
// Every subtest opens its own store and runs in parallel with the others.
package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// Config is what the suite asks of a store it opens.
type Config struct {
	// MaxStreamLen is how many messages a stream must retain; 0 means
	// store.DefaultMaxStreamLen.
	MaxStreamLen int
	// IdempotencyWindow is how long CreatePush remembers an idempotency key;
	// 0 means store.DefaultIdempotencyWindow.
	IdempotencyWindow time.Duration
	// Now is the clock the store must read for message expiry and the
	// idempotency window. It starts at the real time and moves only when a
	// test moves it. Never nil.
	Now func() time.Time
}

// Harness adapts one backend to the suite.
type Harness struct {
	// Open returns a new, empty store configured by cfg; nothing another
	// subtest wrote may be visible in it. It fails t when it cannot. The
	// suite closes the store when the subtest ends.
	Open func(t *testing.T, cfg Config) store.Store
	// ServerClock is set by backends that keep time themselves (server-side
	// TTLs) and ignore Config.Now. The suite then skips the checks that move
	// the clock, and checks the idempotency window with a short window and
	// polling instead.
	ServerClock bool
	// LockedUpdates is set by backends whose UpdateDevice holds a lock
	// that every other write of the device waits for (the embedded store,
	// the tiered layer); the suite then writes nothing from inside a
	// change, which would wait for itself.
	LockedUpdates bool
	// RacyConditionalWrites is set for a server that applies a filtered
	// replace as a read and then a write of its own (FerretDB 1.24 on
	// SQLite): two compare-and-set writes at once can both succeed there.
	// The suite then skips its check of concurrent UpdateDevice calls; the
	// sequential checks still run.
	RacyConditionalWrites bool
	// Tags is set by backends that list devices by tag and by app: the
	// suite then fails, instead of skipping its checks of store.TagIndex,
	// when the store it opens is no TagIndex or answers
	// store.ErrUnsupported.
	Tags bool
	// ListsPushes is set by backends that list an app's pushes: the suite
	// then fails, instead of skipping its checks of store.PushLister, when
	// the store it opens is no PushLister or answers
	// store.ErrUnsupported.
	ListsPushes bool
	// LeasesPushes is set by backends that keep routing leases
	// (store.RoutingLeases: a push store several gateways share); the
	// suite checks them only then.
	LeasesPushes bool
	// Parts limits the suite to the interfaces the backend implements:
	// any of PartApps, PartDevices, PartStreams, PartPushes, PartRelay,
	// PartOutcomes, PartCampaigns, PartUsers. Empty runs everything. A
	// partial backend returns a Compose from Open.
	Parts []string
}

// Parts of the suite, by interface.
const (
	PartApps = "apps"
	// PartDevices covers Devices, and TagIndex for a store that has one.
	PartDevices = "devices"
	PartStreams = "streams"
	// PartPushes covers Pushes, and PushLister and Engagements for a store
	// that has them.
	PartPushes = "pushes"
	// PartRelay covers Credentials, app settings and the counters the
	// relay moves.
	PartRelay = "relay"
	// PartOutcomes covers Outcomes.
	PartOutcomes = "outcomes"
	// PartCampaigns covers Campaigns.
	PartCampaigns = "campaigns"
	// PartUsers covers Users.
	PartUsers = "users"
)

func (h Harness) has(part string) bool {
	return len(h.Parts) == 0 || slices.Contains(h.Parts, part)
}

// Run runs the conformance suite against the backend h opens.
func Run(t *testing.T, h Harness) {
	require.NotNil(t, h.Open, "Harness.Open")
	s := suite{h: h}
	if h.has(PartApps) {
		t.Run("apps", s.apps)
	}
	if h.has(PartDevices) {
		t.Run("devices", s.devices)
		t.Run("tags", s.tags)
	}
	if h.has(PartStreams) {
		t.Run("streams", s.streams)
		t.Run("watermarks", s.watermarks)
		t.Run("acked_at_once", s.ackedAtOnce)
	}
	if h.has(PartPushes) {
		t.Run("pushes", s.pushes)
	}
	if h.has(PartRelay) {
		t.Run("relay", s.relay)
	}
	if h.has(PartOutcomes) {
		t.Run("outcomes", s.outcomes)
	}
	if h.has(PartCampaigns) {
		t.Run("campaigns", s.campaigns)
	}
	if h.has(PartUsers) {
		t.Run("users", s.users)
	}
	if len(h.Parts) == 0 {
		t.Run("close", s.close)
	}
}

type suite struct{ h Harness }

// env is one subtest's store and clock.
type env struct {
	store.Store
	clock *clock
	ctx   context.Context
}

// open starts a parallel subtest with a new store.
func (s suite) open(t *testing.T, cfg Config) env {
	t.Helper()
	t.Parallel()
	c := newClock()
	cfg.Now = c.Now
	st := s.h.Open(t, cfg)
	require.NotNil(t, st)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return env{Store: st, clock: c, ctx: t.Context()}
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: msUTC(time.Now())}
}

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock forward by d.
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// msUTC is t in UTC at millisecond precision, the precision every backend
// keeps (BSON dates are milliseconds).
func msUTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// nilIfEmpty turns an empty slice into nil, which backends may return for
// each other.
func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nilIfEmptyMap[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}

// errs collects errors of goroutines, which must not call require.
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) add(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, err)
}

func (e *errs) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return errors.Join(e.list...)
}

// race runs fn(0) … fn(n-1) at once, each on its own goroutine, and returns
// the i whose fn succeeded. An error other than store.ErrConflict is
// returned, joined with the others.
func race(n int, fn func(i int) error) ([]int, error) {
	won := make([]bool, n)
	var failed errs
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			err := fn(i)
			won[i] = err == nil
			if !errors.Is(err, store.ErrConflict) {
				failed.add(err)
			}
		})
	}
	close(start)
	wg.Wait()
	var winners []int
	for i, w := range won {
		if w {
			winners = append(winners, i)
		}
	}
	return winners, failed.err()
}

// seqs returns the sequence numbers of msgs.
func seqs(msgs []store.Message) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

// seqRange returns from, from+1, …, to.
func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// sortedCopy returns a sorted copy of s.
func sortedCopy[S ~[]E, E interface{ ~string | ~uint64 }](s S) S {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
