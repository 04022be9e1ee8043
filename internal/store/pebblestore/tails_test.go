package pebblestore

import (
	"fmt"
	"math/rand/v2"
	"sync"
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

// A stored tail holds its messages in a slice of exactly their number:
// the cache keeps no spare room, and a put allocates once for them.
func TestTailsKeepNoSpareRoom(t *testing.T) {
	c := newTails(1 << 20)
	c.put("d", head{epoch: 1, seq: 3, first: 1}, msgs(1, 2, 3))
	c.put("d", head{epoch: 1, seq: 5, first: 1}, msgs(4, 5))
	got, _ := c.get("d")
	require.Equal(t, []uint64{2, 3, 4, 5}, tailSeqs(got))
	require.Equal(t, len(got.msgs), cap(got.msgs))

	added := msgs(6)
	allocs := testing.AllocsPerRun(100, func() {
		c.put("e", head{epoch: 1, seq: 6, first: 1}, added)
	})
	require.LessOrEqual(t, allocs, 2.0, "the tail and its slice")
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
	hits, filled := 0, 0
	for step := range 600 {
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
		if rng.IntN(3) == 0 {
			// A read, as a catch-up makes; one after the tail went (a
			// restart, or the cache full) keeps what it found as the tail.
			if rng.IntN(2) == 0 {
				cached.tails.drop(dev)
			}
			limit := 1 + rng.IntN(8)
			p1, err := cached.ReadStream(ctx, dev, 0, 0, limit)
			require.NoError(t, err)
			p2, err := plain.ReadStream(ctx, dev, 0, 0, limit)
			require.NoError(t, err)
			require.Equal(t, p2.Messages, p1.Messages, "step %d: read %s", step, dev)
			require.Equal(t, p2.More, p1.More)
			if _, ok := cached.tails.get(dev); ok {
				filled++
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
	require.Greater(t, filled, 20, "reads kept tails")
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

// A read of a stream without a kept tail keeps the newest messages it
// found, consecutive and ending at the head, as the tail; not when the page
// stops short of the head, nor when an append ended while it read.
func TestReadStreamKeepsTheTail(t *testing.T) {
	ctx := t.Context()
	s := open(t, Config{Dir: t.TempDir()})
	var epoch uint64
	for i := range 6 {
		pos, err := s.Append(ctx, []store.Entry{{DeviceID: "d", Message: store.Message{PushID: fmt.Sprint("p", i+1), Title: "t"}}})
		require.NoError(t, err)
		epoch = pos[0].Epoch
	}
	tailOf := func() []uint64 {
		tl, ok := s.tails.get("d")
		if !ok {
			return nil
		}
		return tailSeqs(tl)
	}

	s.tails.drop("d") // as after a restart
	page, err := s.ReadStream(ctx, "d", epoch, 4, 1)
	require.NoError(t, err)
	require.True(t, page.More)
	require.Nil(t, tailOf(), "a page short of the head keeps nothing")

	page, err = s.ReadStream(ctx, "d", epoch, 6, 100)
	require.NoError(t, err)
	require.Empty(t, page.Messages)
	require.Nil(t, tailOf(), "a caught-up read reads no message to keep")

	page, err = s.ReadStream(ctx, "d", epoch, 0, 100)
	require.NoError(t, err)
	require.Len(t, page.Messages, 6)
	require.Equal(t, []uint64{3, 4, 5, 6}, tailOf(), "the newest tailLen messages")

	// The watermark moves over the kept messages without an iterator and
	// returns the same messages the stream holds.
	_, err = s.Advance(ctx, "d", store.MarkSent, 4)
	require.NoError(t, err)
	covered, err := s.Advance(ctx, "d", store.MarkSent, 6)
	require.NoError(t, err)
	require.Equal(t, []string{"p5", "p6"}, []string{covered[0].PushID, covered[1].PushID})

	// A read that an append overtook keeps nothing: its head is stale.
	s.tails.drop("d")
	stripe := s.locks.index(tagStream, "d")
	gen := s.tailGen[stripe].Load()
	stale, _, err := s.storedHead("d")
	require.NoError(t, err)
	_, err = s.Append(ctx, []store.Entry{{DeviceID: "d", Message: store.Message{PushID: "p7", Title: "t"}}})
	require.NoError(t, err)
	s.tails.drop("d")
	s.fillTail("d", stripe, gen, stale, msgs(5, 6))
	require.Nil(t, tailOf(), "an append ended since the read began")
	pos, err := s.Append(ctx, []store.Entry{{DeviceID: "d", Message: store.Message{PushID: "p8", Title: "t"}}})
	require.NoError(t, err)
	require.Equal(t, uint64(8), pos[0].Seq, "the next append finds the true head")
}

// Reads that keep tails, appends and evictions of the tail race; every
// append still gets the next sequence number and the stream ends whole.
func TestReadStreamTailsUnderAppends(t *testing.T) {
	ctx := t.Context()
	s := open(t, Config{Dir: t.TempDir(), MaxStreamLen: 1000})
	const writers, perWriter = 2, 150
	var appending, reading sync.WaitGroup
	errs := make(chan error, writers+2)
	for w := range writers {
		appending.Go(func() {
			for i := range perWriter {
				if _, err := s.Append(ctx, []store.Entry{{DeviceID: "d", Message: store.Message{PushID: fmt.Sprintf("w%d-%d", w, i), Title: "t"}}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	for range 2 {
		reading.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.tails.drop("d") // as a full cache evicts
				if _, err := s.ReadStream(ctx, "d", 0, 0, 1000); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	appending.Wait()
	close(stop)
	reading.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	page, err := s.ReadStream(ctx, "d", 0, 0, 1000)
	require.NoError(t, err)
	require.Equal(t, uint64(writers*perWriter), page.Head)
	require.Len(t, page.Messages, writers*perWriter)
	seen := map[string]bool{}
	for i, m := range page.Messages {
		require.Equal(t, uint64(i+1), m.Seq)
		require.False(t, seen[m.PushID], "message %s stored twice", m.PushID)
		seen[m.PushID] = true
	}
}
