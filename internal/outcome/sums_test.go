package outcome

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// Sums merge updates per push; a flush the store refuses keeps them for
// the next, which writes them once; a push no longer stored is dropped.
func TestSumsWaitForTheStore(t *testing.T) {
	ctx := context.Background()
	st := newMemStore([]string{"p1", "p2"}, nil)
	sums := NewSums(st, slog.New(slog.DiscardHandler), nil)
	sums.Add("p1", store.Counts{Delivered: 1})
	sums.AddEach([]store.Message{{PushID: "p1"}, {PushID: "p2"}, {PushID: "gone"}}, store.Counts{Acked: 1})
	require.Equal(t, 3, sums.Len())

	st.failAdd = true
	require.Zero(t, sums.Flush(ctx))
	require.Zero(t, sums.Flush(ctx))
	require.Equal(t, store.Counts{}, st.counts["p1"], "nothing written while refused")
	require.Equal(t, 3, sums.Len(), "kept")

	sums.Add("p2", store.Counts{Delivered: 1}) // arrives during the outage
	st.failAdd = false
	require.Zero(t, sums.Flush(ctx))
	require.Equal(t, store.Counts{Delivered: 1, Acked: 1}, st.counts["p1"])
	require.Equal(t, store.Counts{Delivered: 1, Acked: 1}, st.counts["p2"])
	require.Zero(t, sums.Len(), "the unknown push dropped, the others written")
	require.Zero(t, sums.Flush(ctx))
	require.Equal(t, store.Counts{Delivered: 1, Acked: 1}, st.counts["p1"], "written once")
}

// callCounter counts AddCounts calls.
type callCounter struct {
	*memStore
	calls int
}

func (c *callCounter) AddCounts(ctx context.Context, id string, d store.Counts) error {
	c.calls++
	return c.memStore.AddCounts(ctx, id, d)
}

// Beyond MaxPendingSums pushes, refused sums are dropped and reported; a
// store that refuses costs a flush one call, not one per push.
func TestSumsAreBounded(t *testing.T) {
	st := &callCounter{memStore: newMemStore(nil, nil)}
	st.failAdd = true
	sums := NewSums(st, slog.New(slog.DiscardHandler), nil)
	msgs := make([]store.Message, MaxPendingSums+7)
	for i := range msgs {
		msgs[i].PushID = fmt.Sprint("p", i)
	}
	sums.AddEach(msgs, store.Counts{Delivered: 1})
	require.Equal(t, 7, sums.Flush(context.Background()))
	require.Equal(t, MaxPendingSums, sums.Len())
	require.Equal(t, 1, st.calls)
}

// Through Summed, an Ack whose counter write would fail is recorded and
// counted with the next flush.
func TestSummedAckCountsWithTheFlush(t *testing.T) {
	for _, tc := range acking {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := newMemStore([]string{"p1", "p2"}, nil)
			st.failAdd = true
			sums := NewSums(st, slog.New(slog.DiscardHandler), nil)
			n, err := Ack(ctx, Summed{Store: tc.build(t, st), Sums: sums}, "dev", 2, time.Now())
			require.NoError(t, err)
			require.Equal(t, 2, n)
			require.Equal(t, store.OutcomeAcked, st.outcomes[2])
			st.failAdd = false
			sums.Flush(ctx)
			require.Equal(t, store.Counts{Acked: 1}, st.counts["p1"])
			require.Equal(t, store.Counts{Acked: 1}, st.counts["p2"])
		})
	}
}

// refusingN refuses its first n counter writes.
type refusingN struct {
	*memStore
	n, calls int
}

func (r *refusingN) AddCounts(ctx context.Context, id string, d store.Counts) error {
	r.calls++
	if r.calls <= r.n {
		return errBroken
	}
	return r.memStore.AddCounts(ctx, id, d)
}

// A role that stops tries its last sums again while its budget lasts, and
// gives up on a store that stays down.
func TestFlushFinalTriesAgain(t *testing.T) {
	ctx := context.Background()
	st := &refusingN{memStore: newMemStore([]string{"p1"}, nil), n: 3}
	sums := NewSums(st, slog.New(slog.DiscardHandler), nil)
	sums.Add("p1", store.Counts{Acked: 2})
	require.Zero(t, sums.FlushFinal(ctx, time.Minute, time.Millisecond))
	require.Equal(t, store.Counts{Acked: 2}, st.counts["p1"])
	require.Equal(t, 4, st.calls, "three refusals, then the write")

	down := &refusingN{memStore: newMemStore([]string{"p1"}, nil), n: 1 << 30}
	sums = NewSums(down, slog.New(slog.DiscardHandler), nil)
	sums.Add("p1", store.Counts{Acked: 1})
	require.Zero(t, sums.FlushFinal(ctx, 0, time.Millisecond))
	require.Equal(t, 1, down.calls, "no budget: one try")
	require.Equal(t, 1, sums.Len(), "left unwritten")
}
