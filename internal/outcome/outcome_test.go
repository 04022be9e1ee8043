package outcome

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// memStore is a Store in memory: one device's stream, its outcomes and the
// counters of the pushes it knows.
type memStore struct {
	msgs     []store.Message // seq i+1 at i
	acked    uint64
	outcomes map[uint64]store.Outcome
	counts   map[string]store.Counts
	failSeq  uint64 // SetOutcome fails for this message
	failAdd  bool   // AddCounts fails
}

var errBroken = errors.New("disk on fire")

func newMemStore(pushIDs []string, expiredAt map[int]time.Time) *memStore {
	s := &memStore{outcomes: map[uint64]store.Outcome{}, counts: map[string]store.Counts{}}
	for i, id := range pushIDs {
		s.msgs = append(s.msgs, store.Message{Seq: uint64(i + 1), PushID: id, ExpiresAt: expiredAt[i+1]})
		s.counts[id] = store.Counts{}
	}
	return s
}

func (s *memStore) Advance(_ context.Context, _ string, mark store.Mark, through uint64) ([]store.Message, error) {
	if mark != store.MarkAcked {
		return nil, fmt.Errorf("mark %d", mark)
	}
	through = min(through, uint64(len(s.msgs)))
	if through <= s.acked {
		return nil, nil
	}
	covered := s.msgs[s.acked:through]
	s.acked = through
	return covered, nil
}

func (s *memStore) SetOutcome(_ context.Context, _ string, seq uint64, o store.Outcome) (store.Outcome, bool, error) {
	if seq == s.failSeq {
		return store.OutcomeNone, false, errBroken
	}
	prev := s.outcomes[seq]
	if !o.Replaces(prev) {
		return prev, false, nil
	}
	s.outcomes[seq] = o
	return prev, true, nil
}

func (s *memStore) AddCounts(_ context.Context, id string, d store.Counts) error {
	if s.failAdd {
		return errBroken
	}
	c, ok := s.counts[id]
	if !ok {
		return fmt.Errorf("push %q: %w", id, store.ErrNotFound)
	}
	s.counts[id] = c.Add(d)
	return nil
}

// atOnce is a memStore that moves the watermark and records the outcomes
// in one call (store.AckRecorder); Ack must not use its two-write methods.
type atOnce struct {
	*memStore
	t     *testing.T
	calls int
	// count makes AdvanceAcked count the outcomes it sets itself, as the
	// embedded store does (store.Acked.Counted).
	count bool
}

func (a *atOnce) Advance(context.Context, string, store.Mark, uint64) ([]store.Message, error) {
	a.t.Error("Ack moved the watermark on its own")
	return nil, errBroken
}

func (a *atOnce) SetOutcome(context.Context, string, uint64, store.Outcome) (store.Outcome, bool, error) {
	a.t.Error("Ack recorded an outcome on its own")
	return store.OutcomeNone, false, errBroken
}

func (a *atOnce) AdvanceAcked(ctx context.Context, dev string, through uint64, now time.Time) ([]store.Acked, error) {
	a.calls++
	msgs, err := a.memStore.Advance(ctx, dev, store.MarkAcked, through)
	if err != nil {
		return nil, err
	}
	out := make([]store.Acked, len(msgs))
	for i, m := range msgs {
		o, prev := m.AckOutcome(now), a.outcomes[m.Seq]
		out[i] = store.Acked{Message: m, Outcome: o, Prev: prev, Set: o.Replaces(prev)}
		if out[i].Set {
			a.outcomes[m.Seq] = o
			if c, ok := a.counts[m.PushID]; ok && a.count {
				a.counts[m.PushID] = c.Add(out[i].CountsDelta(now))
			}
			out[i].Counted = a.count
		}
	}
	return out, nil
}

// unsupported is a memStore whose AdvanceAcked says the store cannot
// record an acknowledgement in one write (a cluster's Aerospike streams).
type unsupported struct {
	*memStore
	calls int
}

func (u *unsupported) AdvanceAcked(context.Context, string, uint64, time.Time) ([]store.Acked, error) {
	u.calls++
	return nil, errors.ErrUnsupported
}

// acking builds the store an Ack test runs on: one that records
// acknowledgements in two writes, one that records them at once, one that
// also counts them in that write, and one that says it cannot.
var acking = []struct {
	name  string
	build func(t *testing.T, s *memStore) Store
}{
	{"two_writes", func(_ *testing.T, s *memStore) Store { return s }},
	{"at_once", func(t *testing.T, s *memStore) Store {
		a := &atOnce{memStore: s, t: t}
		t.Cleanup(func() { require.Positive(t, a.calls, "AdvanceAcked called") })
		return a
	}},
	{"at_once_counted", func(t *testing.T, s *memStore) Store {
		a := &atOnce{memStore: s, t: t, count: true}
		t.Cleanup(func() { require.Positive(t, a.calls, "AdvanceAcked called") })
		return a
	}},
	{"unsupported", func(t *testing.T, s *memStore) Store {
		u := &unsupported{memStore: s}
		t.Cleanup(func() { require.Positive(t, u.calls, "AdvanceAcked called") })
		return u
	}},
}

// An Ack records every message it covers, an expired one as expired; a
// message whose push is no longer stored is recorded too, with nothing to
// count.
func TestAckRecordsEveryCoveredMessage(t *testing.T) {
	for _, tc := range acking {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			s := newMemStore([]string{"p1", "p2", "p3", "p4", "p5"}, map[int]time.Time{3: now.Add(-time.Second)})
			s.outcomes[5] = store.OutcomeRelayed // the relay's check ran first
			delete(s.counts, "p2")               // its record expired
			st := tc.build(t, s)
			n, err := Ack(context.Background(), st, "d", 3, now)
			require.NoError(t, err)
			require.Equal(t, 3, n)
			require.Equal(t, map[uint64]store.Outcome{1: store.OutcomeAcked, 2: store.OutcomeAcked, 3: store.OutcomeExpired,
				5: store.OutcomeRelayed}, s.outcomes)
			require.Equal(t, map[string]store.Counts{"p1": {Acked: 1}, "p3": {Expired: 1}, "p4": {}, "p5": {}}, s.counts)

			// The same Ack again covers nothing new; a later one covers the rest,
			// and moves a relayed target to acked.
			n, err = Ack(context.Background(), st, "d", 3, now)
			require.NoError(t, err)
			require.Zero(t, n)
			n, err = Ack(context.Background(), st, "d", 9, now)
			require.NoError(t, err)
			require.Equal(t, 2, n)
			require.Equal(t, store.Counts{Acked: 1}, s.counts["p4"])
			require.Equal(t, store.Counts{Acked: 1, Relayed: -1}, s.counts["p5"])
		})
	}
}

// A message whose outcome cannot be recorded does not keep the messages
// after it from theirs: the watermark has moved past them all.
func TestAckGoesOnAfterAFailure(t *testing.T) {
	s := newMemStore([]string{"p1", "p2", "p3"}, nil)
	s.failSeq = 2
	n, err := Ack(context.Background(), s, "d", 3, time.Now())
	require.ErrorIs(t, err, errBroken)
	require.ErrorContains(t, err, "seq 2")
	require.Equal(t, 3, n)
	require.Equal(t, map[uint64]store.Outcome{1: store.OutcomeAcked, 3: store.OutcomeAcked}, s.outcomes)
	require.Equal(t, store.Counts{Acked: 1}, s.counts["p3"])
}

// Record counts the change of outcome once, and extra counts every time;
// a counter store that fails is an error, a push that is gone is not.
func TestRecordCountsTheChange(t *testing.T) {
	ctx := context.Background()
	s := newMemStore([]string{"p1"}, nil)
	tg := Target{DeviceID: "d", Seq: 1, PushID: "p1"}
	set, err := Record(ctx, s, tg, store.OutcomeRelayed, store.Counts{})
	require.NoError(t, err)
	require.True(t, set)
	set, err = Record(ctx, s, tg, store.OutcomeAcked, store.Counts{DeadTokens: 1})
	require.NoError(t, err)
	require.True(t, set, "acked replaces relayed")
	set, err = Record(ctx, s, tg, store.OutcomeRelayed, store.Counts{DeadTokens: 1})
	require.NoError(t, err)
	require.False(t, set, "nothing replaces acked")
	require.Equal(t, store.Counts{Acked: 1, DeadTokens: 2}, s.counts["p1"])

	gone := Target{DeviceID: "d", Seq: 2, PushID: "gone"}
	set, err = Record(ctx, s, gone, store.OutcomeNoChannel, store.Counts{})
	require.NoError(t, err)
	require.True(t, set)
	require.Equal(t, store.OutcomeNoChannel, s.outcomes[2])

	s.failSeq = 3
	_, err = Record(ctx, s, Target{DeviceID: "d", Seq: 3, PushID: "p1"}, store.OutcomeAcked, store.Counts{})
	require.ErrorIs(t, err, errBroken)
	s.failSeq, s.failAdd = 0, true
	set, err = Record(ctx, s, Target{DeviceID: "d", Seq: 4, PushID: "p1"}, store.OutcomeAcked, store.Counts{})
	require.ErrorIs(t, err, errBroken)
	require.True(t, set, "the outcome was recorded before the count failed")
}

// countedStore records an outcome and its counts in one call
// (store.OutcomeCounter); Record must not count apart.
type countedStore struct {
	*memStore
	t *testing.T
}

func (c countedStore) SetOutcomeCounted(ctx context.Context, dev string, seq uint64, o store.Outcome, pushID string, extra store.Counts) (store.Outcome, bool, error) {
	prev, set, err := c.memStore.SetOutcome(ctx, dev, seq, o)
	if err != nil {
		return prev, set, err
	}
	delta := extra
	if set {
		delta = delta.Add(o.Delta(prev))
	}
	if delta != (store.Counts{}) {
		if err := c.memStore.AddCounts(ctx, pushID, delta); err != nil && !errors.Is(err, store.ErrNotFound) {
			return prev, false, err
		}
	}
	return prev, set, nil
}

func (c countedStore) AddCounts(context.Context, string, store.Counts) error {
	c.t.Error("counted apart from the outcome")
	return nil
}

// On a store that counts outcomes with them, Record makes one call, through
// Summed too: nothing waits in the sums, where a crash would lose it.
func TestRecordCountsWithTheOutcome(t *testing.T) {
	ctx := context.Background()
	s := countedStore{memStore: newMemStore([]string{"p1"}, nil), t: t}
	sums := NewSums(s, nil, nil)
	st := Summed{Store: s, Sums: sums}
	tg := Target{DeviceID: "d", Seq: 1, PushID: "p1"}
	set, err := Record(ctx, st, tg, store.OutcomeRelayed, store.Counts{DeadTokens: 1})
	require.NoError(t, err)
	require.True(t, set)
	set, err = Record(ctx, st, tg, store.OutcomeAcked, store.Counts{})
	require.NoError(t, err)
	require.True(t, set)
	require.Equal(t, store.Counts{Acked: 1, DeadTokens: 1}, s.counts["p1"], "relayed became acked")
	require.Zero(t, sums.Len())

	s.failSeq = 2
	set, err = Record(ctx, st, Target{DeviceID: "d", Seq: 2, PushID: "p1"}, store.OutcomeRelayed, store.Counts{})
	require.ErrorIs(t, err, errBroken)
	require.False(t, set)
}

// An ack counts how soon it came after each message's append, once per
// message, on every kind of store; a message acked before, or expired,
// adds no delay.
func TestAckCountsHowSoon(t *testing.T) {
	for _, tc := range acking {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			s := newMemStore([]string{"p1", "p2", "p3", "p4", "p5", "p6"}, map[int]time.Time{6: now.Add(-time.Second)})
			for i, ago := range []time.Duration{500 * time.Millisecond, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 0, time.Second} {
				s.msgs[i].SentAt = now.Add(-ago)
			}
			s.outcomes[5] = store.OutcomeAcked // acked over HTTP already
			st := tc.build(t, s)
			_, err := Ack(context.Background(), st, "d", 6, now)
			require.NoError(t, err)
			_, err = Ack(context.Background(), st, "d", 6, now.Add(time.Hour))
			require.NoError(t, err)
			require.Equal(t, map[string]store.Counts{
				"p1": {Acked: 1, AckedWithin1s: 1, AckedWithin10s: 1, AckedWithin60s: 1},
				"p2": {Acked: 1, AckedWithin10s: 1, AckedWithin60s: 1},
				"p3": {Acked: 1, AckedWithin60s: 1},
				"p4": {Acked: 1},
				"p5": {},
				"p6": {Expired: 1},
			}, s.counts)
		})
	}
}

// Through Summed with a Delay, an Ack tells how soon each message it newly
// records as acked came, on every kind of store: not a message acked
// before, an expired one, or a repeat.
func TestAckTellsTheDelays(t *testing.T) {
	for _, tc := range acking {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			s := newMemStore([]string{"p1", "p2", "p3", "p4", "p5"}, map[int]time.Time{5: now.Add(-time.Second)})
			for i, ago := range []time.Duration{500 * time.Millisecond, 5 * time.Second, 2 * time.Minute, 0, time.Second} {
				s.msgs[i].SentAt = now.Add(-ago)
			}
			s.msgs[3].SentAt = time.Time{} // appended before messages had a time
			s.outcomes[2] = store.OutcomeAcked
			var delays []time.Duration
			st := Summed{Store: tc.build(t, s), Sums: NewSums(s, nil, nil), Delay: func(d time.Duration) { delays = append(delays, d) }}
			_, err := Ack(context.Background(), st, "d", 5, now)
			require.NoError(t, err)
			_, err = Ack(context.Background(), st, "d", 5, now.Add(time.Hour))
			require.NoError(t, err)
			require.Equal(t, []time.Duration{500 * time.Millisecond, 2 * time.Minute}, delays)
		})
	}
}
