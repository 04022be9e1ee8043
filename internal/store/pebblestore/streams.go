package pebblestore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// pointDeleteMax is how many trimmed messages are deleted one by one; more
// take one range deletion.
const pointDeleteMax = 16

// Append appends the messages to their devices' streams in one batch with
// one synced commit and returns their positions by entry order. It holds the
// stripes of its devices until the commit is done, so appends to one device
// are serialised while appends to other devices share fsyncs.
func (s *Store) Append(ctx context.Context, entries []store.Entry) ([]store.Position, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	set := make([]uint16, len(entries))
	for i, e := range entries {
		if e.DeviceID == "" {
			return nil, fmt.Errorf("pebblestore: append: entry %d has no device id", i)
		}
		set[i] = s.locks.index(tagStream, e.DeviceID)
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	set = s.locks.lock(set)
	defer s.locks.unlock(set)

	b := s.db.NewBatch()
	pos, appended, err := s.appendTo(b, entries)
	if err != nil {
		b.Close()
		return nil, err
	}
	for dev, a := range appended {
		s.unrecorded.add(dev, a.msgs[0].m.Seq, a.h.seq)
	}
	err = s.commitSync(b)
	// Reads that ran meanwhile may have missed this append: they must
	// not keep what they read as a tail (fillTail).
	defer func() {
		for _, i := range set {
			s.tailGen[i].Add(1)
		}
	}()
	if err != nil {
		// The commit may have been applied even so: read the heads
		// from the store next time.
		for dev := range appended {
			s.tails.drop(dev)
		}
		return nil, err
	}
	for dev, a := range appended {
		s.tails.put(dev, *a.h, a.msgs)
	}
	return pos, nil
}

// appended is what a batch adds to one device's stream.
type appended struct {
	h    *head
	msgs []tailMsg
}

// appendTo writes the messages, the new heads and the trimming of entries
// into b, and returns what it added per device. The caller holds the
// stripes of the devices.
func (s *Store) appendTo(b *pebble.Batch, entries []store.Entry) ([]store.Position, map[string]*appended, error) {
	devs := make(map[string]*appended, 1)
	pos := make([]store.Position, len(entries))
	for i, e := range entries {
		a, ok := devs[e.DeviceID]
		if !ok {
			loaded, err := s.loadHead(e.DeviceID)
			if err != nil {
				return nil, nil, err
			}
			a = &appended{h: &loaded}
			devs[e.DeviceID] = a
		}
		h := a.h
		h.seq++
		m := e.Message
		m.Seq = h.seq
		val := reccodec.EncodeMessage(&m)
		b.Set(msgKey(e.DeviceID, m.Seq), val, nil)
		a.msgs = append(a.msgs, tailMsg{m: m, size: tailMsgSize(len(val))})
		pos[i] = store.Position{Epoch: h.epoch, Seq: m.Seq}
	}
	for dev, a := range devs {
		s.trim(b, dev, a.h)
		b.Set(streamKey(dev, streamHead), a.h.encode(), nil)
	}
	return pos, devs, nil
}

// loadHead returns the head of a device's stream, or the head of a new
// stream with a fresh epoch. The caller holds the device's stripe.
func (s *Store) loadHead(deviceID string) (head, error) {
	if t, ok := s.tails.get(deviceID); ok {
		return t.h, nil
	}
	h, ok, err := s.storedHead(deviceID)
	if err != nil || ok {
		return h, err
	}
	return head{epoch: newEpoch(), first: 1}, nil
}

// storedHead reads the head of a device's stream from the store; false,
// with an empty head, when the stream was never written.
func (s *Store) storedHead(deviceID string) (head, bool, error) {
	v, ok, err := s.get(streamKey(deviceID, streamHead))
	if err != nil || !ok {
		return head{first: 1}, false, err
	}
	h, err := decodeHead(v)
	return h, err == nil, err
}

// newEpoch returns a random nonzero epoch.
// newEpoch returns a random nonzero epoch below 2^53, so that it survives
// JSON numbers in every language (JavaScript's are doubles).
func newEpoch() uint64 {
	for {
		if e := rand.Uint64() & store.MaxEpoch; e != 0 {
			return e
		}
	}
}

// trim adds to b the deletion of the messages beyond the retention limit
// and moves h.first past them. It runs after the messages of the batch were set, so a
// batch longer than the limit deletes its own oldest messages too.
func (s *Store) trim(b *pebble.Batch, dev string, h *head) {
	if h.seq-h.first+1 <= uint64(s.cfg.MaxStreamLen) {
		return
	}
	first := h.seq - uint64(s.cfg.MaxStreamLen) + 1
	// Outcomes of trimmed messages go too; few messages have one, so one
	// range delete covers them.
	b.DeleteRange(outcomeKey(dev, h.first), outcomeKey(dev, first), nil)
	if first-h.first > pointDeleteMax {
		b.DeleteRange(msgKey(dev, h.first), msgKey(dev, first), nil)
	} else {
		for seq := h.first; seq < first; seq++ {
			b.Delete(msgKey(dev, seq), nil)
		}
	}
	h.first = first
}

// streamIter returns an iterator over a stream's head and messages, which it
// sees at one point in time, and the head it saw. A missing stream has the
// zero epoch and head, and first 1.
func (s *Store) streamIter(deviceID string) (*pebble.Iterator, head, error) {
	hk := streamKey(deviceID, streamHead)
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: hk,
		UpperBound: streamKey(deviceID, streamMsgEnd),
	})
	if err != nil {
		return nil, head{}, fmt.Errorf("pebblestore: iterate: %w", err)
	}
	if !it.SeekGE(hk) || !bytes.Equal(it.Key(), hk) {
		return it, head{first: 1}, closeIterOnErr(it, it.Error())
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return it, head{}, closeIterOnErr(it, fmt.Errorf("pebblestore: read stream head: %w", err))
	}
	h, err := decodeHead(v)
	return it, h, closeIterOnErr(it, err)
}

// closeIterOnErr closes it when err is set and returns err.
func closeIterOnErr(it *pebble.Iterator, err error) error {
	if err != nil {
		it.Close()
	}
	return err
}

// streamView is what a read of a stream sees: the head and, unless the
// head is all the page needs, an iterator over the messages. A stream
// without a kept tail (after a restart, say) keeps the newest messages the
// iterator finds, so that the watermarks that follow the catch-up (sent,
// then acked) need no iterator of their own: gen is read before the
// iterator sees the stream, and cached says whether a tail is kept.
type streamView struct {
	it     *pebble.Iterator // nil: the head is all there is to read
	h      head
	gen    uint64
	cached bool
}

// readView takes a view of a device's stream for a read after (epoch,
// since). The caller holds the stream's stripe.
func (s *Store) readView(deviceID string, stripe uint16, epoch, since uint64) (streamView, error) {
	// A session that is caught up, or a stream never written, needs only
	// the head: a point read, not an iterator over the stream.
	h, _, err := s.storedHead(deviceID)
	if err != nil {
		return streamView{}, err
	}
	if _, start := pageStart(h, epoch, since); start > h.seq {
		return streamView{h: h}, nil
	}
	v := streamView{gen: s.tailGen[stripe].Load()}
	_, v.cached = s.tails.get(deviceID)
	v.it, v.h, err = s.streamIter(deviceID)
	return v, err
}

// ReadStream returns up to limit unexpired messages after since; see
// store.Streams for when the read restarts at the oldest retained message
// with Recovered false.
func (s *Store) ReadStream(ctx context.Context, deviceID string, epoch, since uint64, limit int) (store.Page, error) {
	if err := s.begin(ctx); err != nil {
		return store.Page{}, err
	}
	defer s.end()
	// What a read returns goes to the device, so it must not see an append
	// that is not durable yet: Pebble shows a batch to readers once it is
	// applied, while its log write and sync may still be running, and a
	// process killed then loses it. The device would hold numbers the
	// stream gives to the next messages, and pass those over. Appends hold
	// their devices' stripes until their sync is done, so the head and the
	// iterator are taken under the stripe; appends that start later are not
	// in the iterator's view.
	stripe := s.locks.index(tagStream, deviceID)
	set := s.locks.lock([]uint16{stripe})
	v, err := s.readView(deviceID, stripe, epoch, since)
	s.locks.unlock(set)
	if err != nil {
		return store.Page{}, err
	}
	page, start := pageStart(v.h, epoch, since)
	if v.it == nil {
		return page, nil
	}
	it, h := v.it, v.h
	now := s.cfg.Now()
	var newest []tailMsg // expired ones included, as a tail holds them
	for valid := it.SeekGE(msgKey(deviceID, start)); valid; valid = it.Next() {
		m, size, err := iterMessageSize(it)
		if err != nil {
			return store.Page{}, closeIter(it, err)
		}
		if !v.cached {
			newest = appendNewest(newest, tailMsg{m: m, size: size})
		}
		if !m.ExpiresAt.IsZero() && m.ExpiresAt.Before(now) {
			continue
		}
		if len(page.Messages) >= limit {
			page.More = true
			break
		}
		page.Messages = append(page.Messages, m)
	}
	if err := closeIter(it, it.Error()); err != nil {
		return store.Page{}, err
	}
	if !v.cached && !page.More && len(newest) > 0 && newest[len(newest)-1].m.Seq == h.seq {
		s.fillTail(deviceID, stripe, v.gen, h, newest)
	}
	return page, nil
}

// appendNewest adds tm to msgs, the newest messages read so far with
// consecutive seqs, keeping at most tailLen.
func appendNewest(msgs []tailMsg, tm tailMsg) []tailMsg {
	if n := len(msgs); n > 0 && msgs[n-1].m.Seq+1 != tm.m.Seq {
		msgs = msgs[:0]
	}
	if len(msgs) == tailLen {
		msgs = append(msgs[:0], msgs[1:]...)
	}
	return append(msgs, tm)
}

// fillTail keeps msgs, the newest messages of a stream whose head a read
// found to be h, as the device's tail, unless an append to a device of the
// stripe ended since gen was read (the read may have missed it) or a tail
// is kept already. The stripe lock orders it against appends, which keep
// their own tails under it.
func (s *Store) fillTail(dev string, stripe uint16, gen uint64, h head, msgs []tailMsg) {
	set := s.locks.lock([]uint16{stripe})
	defer s.locks.unlock(set)
	if s.tailGen[stripe].Load() != gen {
		return
	}
	if _, ok := s.tails.get(dev); ok {
		return
	}
	s.tails.put(dev, h, msgs)
}

// pageStart returns a page of a stream with head h for a reader that
// follows epoch and has everything up to since, without its messages, and
// the first sequence number the page's messages may have.
func pageStart(h head, epoch, since uint64) (store.Page, uint64) {
	page := store.Page{Epoch: h.epoch, Head: h.seq, Recovered: true}
	start := since + 1
	lost := (epoch != 0 && epoch != h.epoch) || (epoch == 0 && since > 0) || since > h.seq
	if lost || start < h.first {
		start, page.Recovered = h.first, false
	}
	return page, start
}

// Advance moves a watermark forward, at most to the head, and returns the
// retained messages it newly covers, expired ones included. The new value is
// committed without fsync: after a power cut the watermark may be found
// lower, and the messages it covered are covered again (at least once).
func (s *Store) Advance(ctx context.Context, deviceID string, mark store.Mark, through uint64) ([]store.Message, error) {
	return s.advance(ctx, deviceID, mark, through, false, nil)
}

// AdvanceSent moves the sent watermark as Advance does and adds, in the
// same batch, 1 to the delivered count of the push of each message it
// newly covers that had not expired at now: a killed process can no longer
// lose the count of a delivery its watermark records. Like Advance, the
// batch is committed without fsync.
func (s *Store) AdvanceSent(ctx context.Context, deviceID string, through uint64, now time.Time) ([]store.Message, error) {
	return s.advance(ctx, deviceID, store.MarkSent, through, false, func(b *pebble.Batch, m store.Message) error {
		if m.Expired(now) {
			return nil
		}
		return s.countTo(b, m.PushID, store.Counts{Delivered: 1})
	})
}

// advance is Advance; each, when set, adds to b, the batch that moves the
// watermark, what goes with each newly covered message. outcomes holds the
// device's outcome stripe too, for an each that records outcomes.
func (s *Store) advance(ctx context.Context, deviceID string, mark store.Mark, through uint64, outcomes bool,
	each func(b *pebble.Batch, m store.Message) error,
) ([]store.Message, error) {
	wk, err := watermarkKey(deviceID, mark)
	if err != nil {
		return nil, err
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	stripes := []uint16{s.locks.index(streamWatermark, deviceID)}
	if outcomes {
		stripes = append(stripes, s.locks.index(streamOutcome, deviceID))
	}
	set := s.locks.lock(stripes)
	defer s.locks.unlock(set)
	covered, to, err := s.covered(deviceID, wk, through)
	if err != nil || to == 0 {
		return nil, err
	}
	b := s.db.NewBatch()
	b.Set(wk, encodeUint64(to), nil)
	for i := 0; each != nil && i < len(covered); i++ {
		if err := each(b, covered[i]); err != nil {
			b.Close()
			return nil, err
		}
	}
	if err := commit(b, pebble.NoSync); err != nil {
		return nil, err
	}
	s.marks.put(wk, to)
	return covered, nil
}

// covered returns the retained messages a watermark would newly cover if
// it moved to through (at most to the head), and the value it would move
// to; 0 when it would not move. The caller holds the watermark's stripe.
func (s *Store) covered(deviceID string, wk []byte, through uint64) ([]store.Message, uint64, error) {
	cur, err := s.watermark(wk)
	if err != nil {
		return nil, 0, err
	}
	if t, ok := s.tails.get(deviceID); ok {
		to := min(through, t.h.seq)
		if to <= cur {
			return nil, 0, nil
		}
		if covered, ok := t.covered(max(cur+1, t.h.first), to); ok {
			return covered, to, nil
		}
	}
	it, h, err := s.streamIter(deviceID)
	if err != nil {
		return nil, 0, err
	}
	to := min(through, h.seq)
	if to <= cur {
		return nil, 0, closeIter(it, nil)
	}
	var covered []store.Message
	for valid := it.SeekGE(msgKey(deviceID, max(cur+1, h.first))); valid; valid = it.Next() {
		m, err := iterMessage(it)
		if err != nil {
			return nil, 0, closeIter(it, err)
		}
		if m.Seq > to {
			break
		}
		covered = append(covered, m)
	}
	if err := closeIter(it, it.Error()); err != nil {
		return nil, 0, err
	}
	return covered, to, nil
}

// AdvanceAcked moves the ack watermark as Advance does and records, in the
// same batch, each message it newly covers as acked (expired if it had
// expired at now) where that replaces the recorded outcome, with the
// change of its push's counts: a crash can no longer leave the watermark
// moved and an outcome unrecorded, nor lose the count of one it recorded.
// Like Advance, the batch is committed without fsync.
func (s *Store) AdvanceAcked(ctx context.Context, deviceID string, through uint64, now time.Time) ([]store.Acked, error) {
	var acked []store.Acked
	_, err := s.advance(ctx, deviceID, store.MarkAcked, through, true, func(b *pebble.Batch, m store.Message) error {
		a := store.Acked{Message: m, Outcome: m.AckOutcome(now), Prev: store.OutcomeNone}
		if !s.unrecorded.take(deviceID, m.Seq) {
			var err error
			if a.Prev, err = s.outcome(deviceID, m.Seq); err != nil {
				return err
			}
		}
		if a.Outcome.Replaces(a.Prev) {
			a.Set, a.Counted = true, true
			b.Set(outcomeKey(deviceID, m.Seq), []byte{byte(a.Outcome)}, nil)
			if err := s.countTo(b, m.PushID, a.CountsDelta(now)); err != nil {
				return err
			}
		}
		acked = append(acked, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return acked, nil
}

// Watermark returns the current value of a watermark, 0 if it never moved.
func (s *Store) Watermark(ctx context.Context, deviceID string, mark store.Mark) (uint64, error) {
	wk, err := watermarkKey(deviceID, mark)
	if err != nil {
		return 0, err
	}
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.end()
	return s.watermark(wk)
}

// CachedWatermark returns a watermark when this process moved it lately
// and keeps it in memory; ok is false otherwise. It reads nothing from
// disk and never waits on a call in flight, so a caller that must not wait
// can ask it.
func (s *Store) CachedWatermark(deviceID string, mark store.Mark) (v uint64, ok bool) {
	wk, err := watermarkKey(deviceID, mark)
	if err != nil {
		return 0, false
	}
	return s.marks.get(wk)
}

func (s *Store) watermark(wk []byte) (uint64, error) {
	if v, ok := s.marks.get(wk); ok {
		return v, nil
	}
	v, ok, err := s.get(wk)
	if !ok || err != nil {
		return 0, err
	}
	return decodeUint64(v)
}

// iterMessage decodes the message at the iterator's position.
func iterMessage(it *pebble.Iterator) (store.Message, error) {
	m, _, err := iterMessageSize(it)
	return m, err
}

// iterMessageSize is iterMessage that also returns the size a tail
// counts for the message (tailMsgSize).
func iterMessageSize(it *pebble.Iterator) (store.Message, int, error) {
	var m store.Message
	v, err := it.ValueAndErr()
	if err != nil {
		return m, 0, fmt.Errorf("pebblestore: read message: %w", err)
	}
	if m, err = decodeMessage(v); err != nil {
		return m, 0, err
	}
	return m, tailMsgSize(len(v)), nil
}

// decodeMessage decodes a stored message: the binary encoding of
// reccodec, or, when it starts with '{', the JSON that earlier versions
// wrote.
func decodeMessage(v []byte) (store.Message, error) {
	var m store.Message
	var err error
	if len(v) > 0 && v[0] == '{' {
		err = json.Unmarshal(v, &m)
	} else {
		m, err = reccodec.DecodeMessage(v)
	}
	if err != nil {
		return store.Message{}, fmt.Errorf("pebblestore: decode message: %w", err)
	}
	return m, nil
}

// DropStream removes a device's stream (head, messages, outcomes and
// watermarks) in one synced write under the stripe locks of its appends,
// its watermarks and its outcomes, and
// forgets what this process keeps of it in memory: its tail and its
// watermarks. Reads under way do not keep what they read as a tail
// (fillTail), as after an append.
func (s *Store) DropStream(ctx context.Context, deviceID string) error {
	if deviceID == "" {
		return fmt.Errorf("pebblestore: drop stream: empty device id")
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	stripe := s.locks.index(tagStream, deviceID)
	set := s.locks.lock([]uint16{stripe, s.locks.index(streamWatermark, deviceID), s.locks.index(streamOutcome, deviceID)})
	defer s.locks.unlock(set)
	defer s.tailGen[stripe].Add(1)

	prefix := streamPrefix(deviceID)
	b := s.db.NewBatch()
	b.DeleteRange(prefix, prefixEnd(prefix), nil)
	err := s.commitSync(b)
	s.tails.drop(deviceID)
	for _, m := range []store.Mark{store.MarkSent, store.MarkAcked} {
		if wk, werr := watermarkKey(deviceID, m); werr == nil {
			s.marks.drop(wk)
		}
	}
	return err
}
