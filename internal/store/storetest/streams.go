package storetest

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

func (s suite) streams(t *testing.T) {
	t.Run("append_and_read", func(t *testing.T) {
		e := s.open(t, Config{})
		dev := ids.New()
		var want []store.Message
		var epoch uint64
		for i := range 3 {
			m := newMessage(e, i)
			pos, err := e.Append(e.ctx, []store.Entry{{DeviceID: dev, Message: m}})
			require.NoError(t, err)
			require.Len(t, pos, 1)
			require.NotZero(t, pos[0].Epoch)
			if i > 0 {
				require.Equal(t, epoch, pos[0].Epoch, "the epoch stays")
			}
			epoch = pos[0].Epoch
			require.Equal(t, uint64(i+1), pos[0].Seq)
			m.Seq = pos[0].Seq
			want = append(want, m)
		}
		p := read(t, e, dev, epoch, 0, 10)
		require.Equal(t, store.Page{Epoch: epoch, Head: 3, Messages: normMessages(want), Recovered: true}, p)
	})
	t.Run("drop", func(t *testing.T) {
		e := s.open(t, Config{})
		sd, ok := e.Store.(store.StreamDropper)
		if !ok {
			t.Skip("the store cannot drop streams")
		}
		dev, other := ids.New(), ids.New()
		epoch, _ := appendN(t, e, dev, 3)
		otherEpoch, otherMsgs := appendN(t, e, other, 2)
		_, err := e.Advance(e.ctx, dev, store.MarkSent, 2)
		require.NoError(t, err)
		_, err = e.Advance(e.ctx, dev, store.MarkAcked, 1)
		require.NoError(t, err)
		if s.h.has(PartOutcomes) {
			_, _, err = e.SetOutcome(e.ctx, dev, 3, store.OutcomeRelayed)
			require.NoError(t, err)
		}

		require.NoError(t, sd.DropStream(e.ctx, dev))
		for _, since := range []uint64{0, 1} {
			p := read(t, e, dev, epoch, since, 10)
			require.Zero(t, p.Epoch, "a dropped stream does not exist")
			require.Zero(t, p.Head)
			require.Empty(t, p.Messages)
		}
		requireMark(t, e, dev, store.MarkSent, 0)
		requireMark(t, e, dev, store.MarkAcked, 0)
		if s.h.has(PartOutcomes) {
			o, err := e.OutcomeOf(e.ctx, dev, 3)
			require.NoError(t, err)
			require.Equal(t, store.OutcomeNone, o)
		}
		require.Equal(t, store.Page{Epoch: otherEpoch, Head: 2, Messages: normMessages(otherMsgs), Recovered: true},
			read(t, e, other, otherEpoch, 0, 10), "another device's stream stays")

		pos, err := e.Append(e.ctx, []store.Entry{{DeviceID: dev, Message: newMessage(e, 9)}})
		require.NoError(t, err)
		require.Equal(t, uint64(1), pos[0].Seq, "an append after the drop starts a new stream")
		require.NotEqual(t, epoch, pos[0].Epoch)
		require.NoError(t, sd.DropStream(e.ctx, ids.New()), "dropping a stream that never existed")
	})
	t.Run("append_nothing", func(t *testing.T) {
		e := s.open(t, Config{})
		pos, err := e.Append(e.ctx, nil)
		require.NoError(t, err)
		require.Empty(t, pos)
	})
	t.Run("batch_positions", func(t *testing.T) {
		e := s.open(t, Config{})
		a, b, c := ids.New(), ids.New(), ids.New()
		devs := []string{a, b, a, c, a, b}
		entries := make([]store.Entry, len(devs))
		for i, d := range devs {
			entries[i] = store.Entry{DeviceID: d, Message: newMessage(e, i)}
		}
		pos, err := e.Append(e.ctx, entries)
		require.NoError(t, err)
		require.Len(t, pos, len(entries))
		require.Equal(t, []uint64{1, 1, 2, 1, 3, 2}, []uint64{pos[0].Seq, pos[1].Seq, pos[2].Seq, pos[3].Seq, pos[4].Seq, pos[5].Seq})
		for i, d := range devs {
			require.NotZero(t, pos[i].Epoch)
			require.Equal(t, pos[slices.Index(devs, d)].Epoch, pos[i].Epoch, "one epoch per device")
		}
		for _, d := range []string{a, b, c} {
			var want []store.Message
			for i, en := range entries {
				if en.DeviceID == d {
					m := en.Message
					m.Seq = pos[i].Seq
					want = append(want, m)
				}
			}
			p := read(t, e, d, pos[slices.Index(devs, d)].Epoch, 0, 10)
			require.Equal(t, normMessages(want), p.Messages, "device %s", d)
			require.True(t, p.Recovered)
		}
	})
	t.Run("concurrent_one_device", func(t *testing.T) {
		e := s.open(t, Config{})
		dev := ids.New()
		got := appendConcurrently(t, e, 8, 100, func(g, i int) []string { return []string{dev} })
		require.Equal(t, seqRange(1, 800), sortedCopy(got[dev]), "sequence numbers 1..800, each once")
		p := read(t, e, dev, 0, 0, 1000)
		require.Equal(t, uint64(800), p.Head)
		require.Equal(t, seqRange(1, 800), seqs(p.Messages))
	})
	t.Run("concurrent_many_devices", func(t *testing.T) {
		e := s.open(t, Config{})
		devs := make([]string, 16)
		for i := range devs {
			devs[i] = ids.New()
		}
		// Batches of three entries, in varying device orders and sometimes
		// with one device twice.
		got := appendConcurrently(t, e, 8, 100, func(g, i int) []string {
			return []string{devs[(g*7+i)%16], devs[(g*3+i*5+1)%16], devs[(i*11+g)%16]}
		})
		total := 0
		for _, d := range devs {
			n := uint64(len(got[d]))
			total += len(got[d])
			require.Equal(t, seqRange(1, n), sortedCopy(got[d]), "device %s", d)
			p := read(t, e, d, 0, 0, 1000)
			require.Equal(t, n, p.Head)
			require.Equal(t, seqRange(1, n), seqs(p.Messages))
		}
		require.Equal(t, 8*100*3, total)
	})
	t.Run("read_after_cursor", func(t *testing.T) {
		e := s.open(t, Config{})
		dev := ids.New()
		epoch, _ := appendN(t, e, dev, 5)
		p := read(t, e, dev, epoch, 2, 10)
		require.Equal(t, []uint64{3, 4, 5}, seqs(p.Messages))
		require.True(t, p.Recovered)
		require.False(t, p.More)

		p = read(t, e, dev, epoch, 5, 10)
		require.Empty(t, p.Messages)
		require.True(t, p.Recovered)
		require.False(t, p.More)
		require.Equal(t, uint64(5), p.Head)
	})
	t.Run("epoch_mismatch", func(t *testing.T) {
		e := s.open(t, Config{})
		dev := ids.New()
		epoch, _ := appendN(t, e, dev, 5)
		for _, c := range []struct {
			name         string
			epoch, since uint64
			recovered    bool
			want         []uint64
		}{
			{"other_epoch", epoch + 1, 3, false, seqRange(1, 5)},
			{"other_epoch_from_start", epoch + 1, 0, false, seqRange(1, 5)},
			{"no_epoch_with_cursor", 0, 3, false, seqRange(1, 5)},
			{"no_epoch_from_start", 0, 0, true, seqRange(1, 5)},
			{"cursor_past_head", epoch, 9, false, seqRange(1, 5)},
			{"same_epoch", epoch, 3, true, []uint64{4, 5}},
		} {
			p := read(t, e, dev, c.epoch, c.since, 10)
			require.Equal(t, c.recovered, p.Recovered, c.name)
			require.Equal(t, c.want, seqs(p.Messages), c.name)
			require.Equal(t, epoch, p.Epoch, c.name)
			require.Equal(t, uint64(5), p.Head, c.name)
		}
	})
	t.Run("unknown_device", func(t *testing.T) {
		e := s.open(t, Config{})
		p := read(t, e, "nobody", 0, 0, 10)
		require.Equal(t, store.Page{Recovered: true}, normPage(p))
		p = read(t, e, "nobody", 0, 4, 10)
		require.Equal(t, store.Page{}, normPage(p), "a cursor into a stream that does not exist")
		p = read(t, e, "nobody", 42, 0, 10)
		require.Equal(t, store.Page{}, normPage(p), "an epoch of a stream that does not exist")
	})
	t.Run("retention", func(t *testing.T) {
		e := s.open(t, Config{MaxStreamLen: 5})
		dev := ids.New()
		epoch, _ := appendN(t, e, dev, 7)
		entries := make([]store.Entry, 5)
		for i := range entries {
			entries[i] = store.Entry{DeviceID: dev, Message: newMessage(e, 7+i)}
		}
		_, err := e.Append(e.ctx, entries)
		require.NoError(t, err)

		for _, c := range []struct {
			name         string
			epoch, since uint64
			recovered    bool
		}{
			{"cursor_at_oldest", epoch, 7, true},
			{"cursor_trimmed", epoch, 6, false},
			{"from_start_trimmed", epoch, 0, false},
			{"no_epoch_trimmed", 0, 0, false},
		} {
			p := read(t, e, dev, c.epoch, c.since, 100)
			require.Equal(t, c.recovered, p.Recovered, c.name)
			require.Equal(t, seqRange(8, 12), seqs(p.Messages), c.name)
			require.Equal(t, uint64(12), p.Head, c.name)
		}
		p := read(t, e, dev, epoch, 10, 100)
		require.True(t, p.Recovered)
		require.Equal(t, []uint64{11, 12}, seqs(p.Messages))
	})
	t.Run("retention_long_batch", func(t *testing.T) {
		e := s.open(t, Config{MaxStreamLen: 5})
		dev := ids.New()
		epoch, _ := appendN(t, e, dev, 8)
		p := read(t, e, dev, epoch, 0, 100)
		require.Equal(t, seqRange(4, 8), seqs(p.Messages))
		require.False(t, p.Recovered)
	})
	t.Run("expiry", func(t *testing.T) {
		e := s.open(t, Config{})
		dev := ids.New()
		now := e.clock.Now()
		expires := []time.Time{{}, now.Add(-time.Minute), now.Add(time.Hour), now.Add(-time.Hour), {}}
		entries := make([]store.Entry, len(expires))
		for i, x := range expires {
			m := newMessage(e, i)
			m.ExpiresAt = x
			entries[i] = store.Entry{DeviceID: dev, Message: m}
		}
		pos, err := e.Append(e.ctx, entries)
		require.NoError(t, err)
		epoch := pos[0].Epoch

		p := read(t, e, dev, epoch, 0, 10)
		require.Equal(t, []uint64{1, 3, 5}, seqs(p.Messages), "expired messages are left out")
		require.Equal(t, uint64(5), p.Head)
		require.True(t, p.Recovered)
		p = read(t, e, dev, epoch, 0, 2)
		require.Equal(t, []uint64{1, 3}, seqs(p.Messages))
		require.True(t, p.More)

		if s.h.ServerClock {
			return
		}
		e.clock.Add(2 * time.Hour)
		p = read(t, e, dev, epoch, 0, 10)
		require.Equal(t, []uint64{1, 5}, seqs(p.Messages), "a message expires when the clock passes it")
	})
	t.Run("paging", func(t *testing.T) {
		e := s.open(t, Config{})
		dev := ids.New()
		epoch, want := appendN(t, e, dev, 250)
		var got []store.Message
		var more []bool
		since := uint64(0)
		for range 4 {
			p := read(t, e, dev, epoch, since, 100)
			require.True(t, p.Recovered)
			got = append(got, p.Messages...)
			more = append(more, p.More)
			if !p.More {
				break
			}
			since = p.Messages[len(p.Messages)-1].Seq
		}
		require.Equal(t, []bool{true, true, false}, more)
		require.Equal(t, normMessages(want), got)
	})
}

func (s suite) watermarks(t *testing.T) {
	t.Run("advance", func(t *testing.T) {
		e := s.open(t, Config{})
		dev := ids.New()
		_, msgs := appendN(t, e, dev, 5)
		requireMark(t, e, dev, store.MarkAcked, 0)

		requireAdvance(t, e, dev, store.MarkAcked, 2, msgs[0:2])
		requireMark(t, e, dev, store.MarkAcked, 2)
		requireAdvance(t, e, dev, store.MarkAcked, 2, nil)
		requireAdvance(t, e, dev, store.MarkAcked, 1, nil)
		requireMark(t, e, dev, store.MarkAcked, 2)

		requireAdvance(t, e, dev, store.MarkAcked, 100, msgs[2:5])
		requireMark(t, e, dev, store.MarkAcked, 5)
		requireAdvance(t, e, dev, store.MarkAcked, 100, nil)

		requireMark(t, e, dev, store.MarkSent, 0)
		requireAdvance(t, e, dev, store.MarkSent, 4, msgs[0:4])
		requireMark(t, e, dev, store.MarkSent, 4)
		requireMark(t, e, dev, store.MarkAcked, 5)

		_, more := appendN(t, e, dev, 2)
		requireAdvance(t, e, dev, store.MarkAcked, 7, more)
	})
	t.Run("unknown_device", func(t *testing.T) {
		e := s.open(t, Config{})
		requireAdvance(t, e, "nobody", store.MarkAcked, 10, nil)
		requireMark(t, e, "nobody", store.MarkAcked, 0)
	})
	t.Run("trimmed", func(t *testing.T) {
		e := s.open(t, Config{MaxStreamLen: 5})
		dev := ids.New()
		_, msgs := appendN(t, e, dev, 10)
		requireAdvance(t, e, dev, store.MarkSent, 3, nil)
		requireMark(t, e, dev, store.MarkSent, 3)
		requireAdvance(t, e, dev, store.MarkSent, 10, msgs[5:10])
	})
	t.Run("expired_included", func(t *testing.T) {
		e := s.open(t, Config{})
		dev := ids.New()
		m := newMessage(e, 0)
		m.ExpiresAt = e.clock.Now().Add(-time.Hour)
		pos, err := e.Append(e.ctx, []store.Entry{{DeviceID: dev, Message: m}})
		require.NoError(t, err)
		m.Seq = pos[0].Seq
		requireAdvance(t, e, dev, store.MarkAcked, 1, []store.Message{m})
	})
	t.Run("concurrent", func(t *testing.T) {
		e := s.open(t, Config{})
		dev := ids.New()
		_, _ = appendN(t, e, dev, 100)
		var mu sync.Mutex
		var covered []uint64
		var failed errs
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for through := uint64(g + 1); through <= 100; through += 3 {
					msgs, err := e.Advance(e.ctx, dev, store.MarkAcked, through)
					failed.add(err)
					mu.Lock()
					covered = append(covered, seqs(msgs)...)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.NoError(t, failed.err())
		requireAdvance(t, e, dev, store.MarkAcked, 100, nil)
		requireMark(t, e, dev, store.MarkAcked, 100)
		require.Equal(t, seqRange(1, 100), sortedCopy(covered), "every message covered once")
	})
}

func newMessage(e env, i int) store.Message {
	return store.Message{
		PushID: ids.New(),
		Title:  fmt.Sprintf("title %d", i),
		Body:   "body",
		Data:   map[string]string{"i": strconv.Itoa(i)},
		SentAt: e.clock.Now(),
	}
}

// appendN appends n messages to dev in one batch and returns the stream's
// epoch and the messages with their sequence numbers.
func appendN(t *testing.T, e env, dev string, n int) (uint64, []store.Message) {
	t.Helper()
	entries := make([]store.Entry, n)
	for i := range entries {
		entries[i] = store.Entry{DeviceID: dev, Message: newMessage(e, i)}
	}
	pos, err := e.Append(e.ctx, entries)
	require.NoError(t, err)
	require.Len(t, pos, n)
	msgs := make([]store.Message, n)
	for i := range entries {
		msgs[i] = entries[i].Message
		msgs[i].Seq = pos[i].Seq
	}
	return pos[0].Epoch, msgs
}

// appendConcurrently runs workers goroutines that each append perWorker
// batches, one message per device that devices names for the batch, and
// returns the sequence numbers assigned per device. It checks that the
// numbers of one device within a batch grow in entry order.
func appendConcurrently(t *testing.T, e env, workers, perWorker int, devices func(g, i int) []string) map[string][]uint64 {
	t.Helper()
	var mu sync.Mutex
	got := make(map[string][]uint64)
	var failed errs
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range perWorker {
				devs := devices(g, i)
				entries := make([]store.Entry, len(devs))
				for j, d := range devs {
					entries[j] = store.Entry{DeviceID: d, Message: newMessage(e, i)}
				}
				pos, err := e.Append(e.ctx, entries)
				if err != nil {
					failed.add(err)
					return
				}
				failed.add(checkBatch(devs, pos))
				mu.Lock()
				for j, d := range devs {
					got[d] = append(got[d], pos[j].Seq)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.NoError(t, failed.err())
	return got
}

// checkBatch checks the positions of one batch: one per entry, and growing
// by one per entry of the same device.
func checkBatch(devs []string, pos []store.Position) error {
	if len(pos) != len(devs) {
		return fmt.Errorf("%d positions for %d entries", len(pos), len(devs))
	}
	last := make(map[string]store.Position)
	for j, d := range devs {
		if prev, ok := last[d]; ok && (pos[j].Seq != prev.Seq+1 || pos[j].Epoch != prev.Epoch) {
			return fmt.Errorf("device %s: position %v after %v in one batch", d, pos[j], prev)
		}
		last[d] = pos[j]
	}
	return nil
}

func read(t *testing.T, e env, dev string, epoch, since uint64, limit int) store.Page {
	t.Helper()
	p, err := e.ReadStream(e.ctx, dev, epoch, since, limit)
	require.NoError(t, err)
	p.Messages = normMessages(p.Messages)
	return p
}

func requireAdvance(t *testing.T, e env, dev string, mark store.Mark, through uint64, want []store.Message) {
	t.Helper()
	got, err := e.Advance(e.ctx, dev, mark, through)
	require.NoError(t, err)
	require.Equal(t, normMessages(want), normMessages(got), "advance mark %d through %d", mark, through)
}

func requireMark(t *testing.T, e env, dev string, mark store.Mark, want uint64) {
	t.Helper()
	got, err := e.Watermark(e.ctx, dev, mark)
	require.NoError(t, err)
	require.Equal(t, want, got, "watermark %d", mark)
}

func normMessages(msgs []store.Message) []store.Message {
	if len(msgs) == 0 {
		return nil
	}
	out := make([]store.Message, len(msgs))
	for i, m := range msgs {
		m.Data = nilIfEmptyMap(m.Data)
		m.SentAt, m.ExpiresAt = msUTC(m.SentAt), msUTC(m.ExpiresAt)
		out[i] = m
	}
	return out
}

func normPage(p store.Page) store.Page {
	p.Messages = normMessages(p.Messages)
	return p
}
