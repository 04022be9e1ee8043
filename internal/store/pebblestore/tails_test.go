package pebblestore

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

func tailSeqs(t *tail) []uint64 {
	var out []uint64
	for _, tm := range t.msgs {
		out = append(out, tm.m.Seq)
	}
	return out
}

func msgs(seqs ...uint64) []tailMsg {
	out := make([]tailMsg, len(seqs))
	for i, s := range seqs {
		out[i] = tailMsg{m: store.Message{Seq: s, PushID: fmt.Sprint("p", s)}, size: 100}
	}
	return out
}

func TestTailsKeepNewestConsecutive(t *testing.T) {
	c := newTails(1 << 20)
	c.put("d", head{epoch: 1, seq: 2, first: 1}, msgs(1, 2))
	c.put("d", head{epoch: 1, seq: 5, first: 1}, msgs(3, 4, 5))
	got, ok := c.get("d")
	require.True(t, ok)
	require.Equal(t, []uint64{2, 3, 4, 5}, tailSeqs(got), "at most tailLen, newest kept")
	require.Equal(t, 400, c.bytes)

	// A gap (appends this process did not see) starts the tail afresh.
	c.put("d", head{epoch: 1, seq: 8, first: 1}, msgs(8))
	got, _ = c.get("d")
	require.Equal(t, []uint64{8}, tailSeqs(got))
	// So does a new epoch.
	c.put("d", head{epoch: 2, seq: 9, first: 1}, msgs(9))
	got, _ = c.get("d")
	require.Equal(t, []uint64{9}, tailSeqs(got))
	// Trimmed messages leave the tail.
	c.put("d", head{epoch: 2, seq: 11, first: 11}, msgs(10, 11))
	got, _ = c.get("d")
	require.Equal(t, []uint64{11}, tailSeqs(got))
	require.Equal(t, 100, c.bytes)

	c.drop("d")
	_, ok = c.get("d")
	require.False(t, ok)
	require.Zero(t, c.bytes)
}

func TestTailsStayWithinBytes(t *testing.T) {
	c := newTails(1000)
	for i := range 50 {
		c.put(fmt.Sprint("d", i), head{epoch: 1, seq: 2, first: 1}, msgs(1, 2))
		require.LessOrEqual(t, c.bytes, 1000)
	}
	require.Len(t, c.m, 5)
	sum := 0
	for _, tl := range c.m {
		sum += tl.bytes
	}
	require.Equal(t, c.bytes, sum)
	// A tail bigger than the whole budget is not kept.
	big := msgs(3)
	big[0].size = 2000
	c.put("d0", head{epoch: 1, seq: 3, first: 1}, big)
	_, ok := c.get("d0")
	require.False(t, ok)
}

func TestTailCovered(t *testing.T) {
	tl := &tail{h: head{epoch: 1, seq: 6, first: 1}, msgs: msgs(3, 4, 5, 6)}
	got, ok := tl.covered(4, 5)
	require.True(t, ok)
	require.Len(t, got, 2)
	require.Equal(t, uint64(4), got[0].Seq)
	_, ok = tl.covered(2, 6)
	require.False(t, ok, "seq 2 is not in the tail")
}

// The cached store answers every Advance and ReadStream exactly as a store
// without the cache does, through appends of every size, trimming and
// watermarks moved to arbitrary points.
func TestTailsMatchTheStore(t *testing.T) {
	ctx := t.Context()
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	cfg := func() Config { return Config{Dir: t.TempDir(), MaxStreamLen: 6, Now: func() time.Time { return now }} }
	cached, plain := open(t, cfg()), open(t, cfg())
	plain.tails = newTails(0)
	devs := []string{"a", "b", "c"}
	rng := rand.New(rand.NewPCG(1, 2))
	hits := 0
	for step := range 400 {
		dev := devs[rng.IntN(len(devs))]
		if rng.IntN(2) == 0 {
			var entries []store.Entry
			for i := range 1 + rng.IntN(8) {
				m := store.Message{PushID: fmt.Sprintf("p%d-%d", step, i), Title: "t", SentAt: now}
				if i%2 == 0 {
					m.Data = map[string]string{"k": "v"}
				}
				entries = append(entries, store.Entry{DeviceID: devs[rng.IntN(len(devs))], Message: m})
			}
			p1, err := cached.Append(ctx, entries)
			require.NoError(t, err)
			p2, err := plain.Append(ctx, entries)
			require.NoError(t, err)
			for i := range p1 {
				require.Equal(t, p1[i].Seq, p2[i].Seq)
			}
			// The cache holds its own copy of the data.
			for _, e := range entries {
				if e.Message.Data != nil {
					e.Message.Data["k"] = "changed"
				}
			}
			continue
		}
		mark := store.MarkSent
		if rng.IntN(2) == 0 {
			mark = store.MarkAcked
		}
		before, err := cached.Watermark(ctx, dev, mark)
		require.NoError(t, err)
		through := before + uint64(rng.IntN(7))
		if _, ok := cached.tails.get(dev); ok {
			hits++
		}
		got, err := cached.Advance(ctx, dev, mark, through)
		require.NoError(t, err)
		want, err := plain.Advance(ctx, dev, mark, through)
		require.NoError(t, err)
		require.Equal(t, want, got, "step %d: advance %s to %d", step, dev, through)
		for _, m := range got {
			if m.Data != nil {
				require.Equal(t, "v", m.Data["k"])
			}
		}
	}
	require.Greater(t, hits, 50, "the cache was used")
	for _, dev := range devs {
		for _, mark := range []store.Mark{store.MarkSent, store.MarkAcked} {
			w1, err := cached.Watermark(ctx, dev, mark)
			require.NoError(t, err)
			w2, err := plain.Watermark(ctx, dev, mark)
			require.NoError(t, err)
			require.Equal(t, w2, w1)
		}
		p1, err := cached.ReadStream(ctx, dev, 0, 0, 100)
		require.NoError(t, err)
		p2, err := plain.ReadStream(ctx, dev, 0, 0, 100)
		require.NoError(t, err)
		require.Equal(t, p2.Messages, p1.Messages)
	}
}
