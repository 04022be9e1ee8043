package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// ackedAtOnce tests store.AckRecorder on a store that has it: the ack
// watermark and the outcomes of the messages it passes move together.
func (s suite) ackedAtOnce(t *testing.T) {
	recorder := func(t *testing.T, e env) store.AckRecorder {
		r, ok := e.Store.(store.AckRecorder)
		if !ok {
			t.Skip("the store records acknowledgements in two writes")
		}
		return r
	}
	t.Run("advance", func(t *testing.T) {
		e := s.open(t, Config{})
		r := recorder(t, e)
		dev := ids.New()
		_, msgs := appendN(t, e, dev, 4)
		expired := newMessage(e, 4)
		expired.ExpiresAt = e.clock.Now().Add(-time.Hour)
		pos, err := e.Append(e.ctx, []store.Entry{{DeviceID: dev, Message: expired}})
		require.NoError(t, err)
		expired.Seq = pos[0].Seq
		msgs = append(msgs, expired)
		setOutcome(t, e, dev, 2, store.OutcomeRelayed)
		setOutcome(t, e, dev, 3, store.OutcomeAcked)
		now := e.clock.Now()

		got, err := r.AdvanceAcked(e.ctx, dev, 3, now)
		require.NoError(t, err)
		require.Equal(t, normAcked([]store.Acked{
			{Message: msgs[0], Outcome: store.OutcomeAcked, Prev: store.OutcomeNone, Set: true},
			{Message: msgs[1], Outcome: store.OutcomeAcked, Prev: store.OutcomeRelayed, Set: true},
			{Message: msgs[2], Outcome: store.OutcomeAcked, Prev: store.OutcomeAcked, Set: false},
		}), normAcked(got))
		requireMark(t, e, dev, store.MarkAcked, 3)
		for seq := uint64(1); seq <= 3; seq++ {
			requireOutcome(t, e, dev, seq, store.OutcomeAcked)
		}
		requireOutcome(t, e, dev, 4, store.OutcomeNone)

		got, err = r.AdvanceAcked(e.ctx, dev, 2, now)
		require.NoError(t, err)
		require.Empty(t, got, "a watermark never moves back")
		got, err = r.AdvanceAcked(e.ctx, dev, 100, now)
		require.NoError(t, err)
		require.Equal(t, normAcked([]store.Acked{
			{Message: msgs[3], Outcome: store.OutcomeAcked, Prev: store.OutcomeNone, Set: true},
			{Message: msgs[4], Outcome: store.OutcomeExpired, Prev: store.OutcomeNone, Set: true},
		}), normAcked(got), "at most to the head, expired messages included")
		requireMark(t, e, dev, store.MarkAcked, 5)
		requireOutcome(t, e, dev, 5, store.OutcomeExpired)
		requireMark(t, e, dev, store.MarkSent, 0)

		got, err = r.AdvanceAcked(e.ctx, "nobody", 10, now)
		require.NoError(t, err)
		require.Empty(t, got)
		requireMark(t, e, "nobody", store.MarkAcked, 0)
	})
	t.Run("counted_with_the_write", func(t *testing.T) {
		// An outcome the store says it counted is in its push's counts
		// once, an ack with how soon it came; one it did not count is left
		// to the caller.
		if !s.h.has(PartPushes) {
			t.Skip("the harness keeps no pushes")
		}
		e := s.open(t, Config{})
		r := recorder(t, e)
		dev := ids.New()
		appendForPushes(t, e, dev, 3, time.Time{})
		setOutcome(t, e, dev, 2, store.OutcomeRelayed)
		now := e.clock.Now()
		got, err := r.AdvanceAcked(e.ctx, dev, 3, now)
		require.NoError(t, err)
		require.Len(t, got, 3)
		for _, a := range got {
			p, err := e.Push(e.ctx, a.Message.PushID)
			require.NoError(t, err)
			want := store.Counts{}
			if a.Counted {
				want = a.CountsDelta(now) // with how soon, for an ack
			}
			require.Equal(t, want, p.Counts, "seq %d, counted %v", a.Message.Seq, a.Counted)
		}
	})
	t.Run("outcome_counted", func(t *testing.T) {
		// A store that counts outcomes with them adds the change an
		// outcome makes, and the extra counts, in the same write.
		if !s.h.has(PartPushes) {
			t.Skip("the harness keeps no pushes")
		}
		e := s.open(t, Config{})
		oc, ok := e.Store.(store.OutcomeCounter)
		if !ok {
			t.Skip("the store counts outcomes apart")
		}
		dev := ids.New()
		msgs := appendForPushes(t, e, dev, 2, time.Time{})
		counts := func(id string) store.Counts {
			p, err := e.Push(e.ctx, id)
			require.NoError(t, err)
			return p.Counts
		}
		prev, set, err := oc.SetOutcomeCounted(e.ctx, dev, 1, store.OutcomeRelayed, msgs[0].PushID, store.Counts{DeadTokens: 1})
		require.NoError(t, err)
		require.True(t, set)
		require.Equal(t, store.OutcomeNone, prev)
		require.Equal(t, store.Counts{Relayed: 1, DeadTokens: 1}, counts(msgs[0].PushID))

		prev, set, err = oc.SetOutcomeCounted(e.ctx, dev, 1, store.OutcomeAcked, msgs[0].PushID, store.Counts{})
		require.NoError(t, err)
		require.True(t, set, "acked replaces relayed")
		require.Equal(t, store.OutcomeRelayed, prev)
		require.Equal(t, store.Counts{Acked: 1, DeadTokens: 1}, counts(msgs[0].PushID))

		_, set, err = oc.SetOutcomeCounted(e.ctx, dev, 1, store.OutcomeRelayed, msgs[0].PushID, store.Counts{DeadTokens: 1})
		require.NoError(t, err)
		require.False(t, set, "nothing replaces acked")
		require.Equal(t, store.Counts{Acked: 1, DeadTokens: 2}, counts(msgs[0].PushID), "the extra counts all the same")
		require.Equal(t, store.Counts{}, counts(msgs[1].PushID))

		_, set, err = oc.SetOutcomeCounted(e.ctx, dev, 2, store.OutcomeNoChannel, ids.New(), store.Counts{})
		require.NoError(t, err)
		require.True(t, set, "a push that is not stored has no counts, and the outcome is recorded")
		o, err := e.OutcomeOf(e.ctx, dev, 2)
		require.NoError(t, err)
		require.Equal(t, store.OutcomeNoChannel, o)
	})
	t.Run("sent_counted", func(t *testing.T) {
		// A store that counts deliveries with the sent watermark counts
		// each newly covered message once, an expired one not at all.
		if !s.h.has(PartPushes) {
			t.Skip("the harness keeps no pushes")
		}
		e := s.open(t, Config{})
		sc, ok := e.Store.(store.SentCounter)
		if !ok {
			t.Skip("the store counts deliveries apart from the watermark")
		}
		dev := ids.New()
		msgs := appendForPushes(t, e, dev, 2, time.Time{})
		msgs = append(msgs, appendForPushes(t, e, dev, 1, e.clock.Now().Add(-time.Minute))...)
		got, err := sc.AdvanceSent(e.ctx, dev, 1, e.clock.Now())
		require.NoError(t, err)
		require.Len(t, got, 1)
		got, err = sc.AdvanceSent(e.ctx, dev, 10, e.clock.Now())
		require.NoError(t, err)
		require.Len(t, got, 2, "at most to the head, the expired message included")
		got, err = sc.AdvanceSent(e.ctx, dev, 3, e.clock.Now())
		require.NoError(t, err)
		require.Empty(t, got, "a watermark never moves back")
		requireMark(t, e, dev, store.MarkSent, 3)
		for i, m := range msgs {
			p, err := e.Push(e.ctx, m.PushID)
			require.NoError(t, err)
			want := store.Counts{Delivered: 1}
			if m.Expired(e.clock.Now()) {
				want = store.Counts{}
			}
			require.Equal(t, want, p.Counts, "message %d", i+1)
		}
		require.True(t, msgs[2].Expired(e.clock.Now()))
	})
	t.Run("racing_outcomes", func(t *testing.T) {
		// Acknowledgements race the relay's outcomes for the same
		// messages: every message is covered once, ends acked, and
		// exactly one writer saw the other's outcome when both wrote.
		e := s.open(t, Config{})
		r := recorder(t, e)
		dev := ids.New()
		const n = 60
		_, _ = appendN(t, e, dev, n)
		var (
			mu      sync.Mutex
			covered []uint64
			ackPrev = map[uint64]store.Outcome{}
			relayed = map[uint64]bool{}
			failed  errs
			wg      sync.WaitGroup
		)
		for g := range 4 {
			wg.Go(func() {
				for through := uint64(g + 1); through <= n; through += 4 {
					got, err := r.AdvanceAcked(e.ctx, dev, through, e.clock.Now())
					failed.add(err)
					mu.Lock()
					for _, a := range got {
						covered = append(covered, a.Message.Seq)
						ackPrev[a.Message.Seq] = a.Prev
						if !a.Set || a.Prev != store.OutcomeNone && a.Prev != store.OutcomeRelayed {
							failed.add(fmt.Errorf("seq %d: acked over %v, set %v", a.Message.Seq, a.Prev, a.Set))
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			for seq := uint64(1); seq <= n; seq++ {
				prev, set, err := e.SetOutcome(e.ctx, dev, seq, store.OutcomeRelayed)
				failed.add(err)
				if set != (prev == store.OutcomeNone) {
					failed.add(fmt.Errorf("seq %d: relayed over %v, set %v", seq, prev, set))
				}
				mu.Lock()
				relayed[seq] = set
				mu.Unlock()
			}
		})
		wg.Wait()
		require.NoError(t, failed.err())
		require.Equal(t, seqRange(1, n), sortedCopy(covered), "every message covered once")
		requireMark(t, e, dev, store.MarkAcked, n)
		for seq := uint64(1); seq <= n; seq++ {
			requireOutcome(t, e, dev, seq, store.OutcomeAcked)
			require.Equal(t, relayed[seq], ackPrev[seq] == store.OutcomeRelayed,
				"seq %d: the relay's outcome was set exactly when the acknowledgement replaced it", seq)
		}
	})
}

func setOutcome(t *testing.T, e env, dev string, seq uint64, o store.Outcome) {
	t.Helper()
	_, set, err := e.SetOutcome(e.ctx, dev, seq, o)
	require.NoError(t, err)
	require.True(t, set)
}

func requireOutcome(t *testing.T, e env, dev string, seq uint64, want store.Outcome) {
	t.Helper()
	got, err := e.OutcomeOf(e.ctx, dev, seq)
	require.NoError(t, err)
	require.Equal(t, want, got, "outcome of seq %d", seq)
}

// appendForPushes creates n pushes and appends one message of each to dev,
// expiring at expires (zero: never); it returns the messages.
func appendForPushes(t *testing.T, e env, dev string, n int, expires time.Time) []store.Message {
	t.Helper()
	entries := make([]store.Entry, n)
	for i := range entries {
		p := newPush(e, "app1")
		p.ID = ids.New()
		_, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		m := newMessage(e, i)
		m.PushID, m.ExpiresAt = p.ID, expires
		entries[i] = store.Entry{DeviceID: dev, Message: m}
	}
	pos, err := e.Append(e.ctx, entries)
	require.NoError(t, err)
	msgs := make([]store.Message, n)
	for i := range entries {
		msgs[i] = entries[i].Message
		msgs[i].Seq = pos[i].Seq
	}
	return msgs
}

func normAcked(as []store.Acked) []store.Acked {
	msgs := make([]store.Message, len(as))
	for i, a := range as {
		msgs[i] = a.Message
	}
	msgs = normMessages(msgs)
	out := make([]store.Acked, len(as))
	for i, a := range as {
		a.Message = msgs[i]
		a.Counted = false // a store's choice, checked by counted_with_the_write
		out[i] = a
	}
	return out
}
