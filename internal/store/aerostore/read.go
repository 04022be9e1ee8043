package aerostore

import (
	"context"
	"fmt"
	"math"

	as "github.com/aerospike/aerospike-client-go/v7"

	"github.com/mopush/mopush/internal/store"
)

// readChunk bounds how many messages one read of a stream returns; a page
// that needs more (a large limit, many expired messages) reads on.
const readChunk = 1000

// head is what one atomic read saw of a stream: its epoch (0: no stream),
// the sequence number of its newest message, and how many messages it
// retains, which are the newest n: seq-n+1 .. seq.
type head struct {
	epoch, seq, n uint64
}

// first returns the sequence number of the oldest retained message, seq+1
// when none is retained.
func (h head) first() uint64 { return h.seq - h.n + 1 }

// start returns the sequence number a read after since by a reader at
// epoch starts at, and whether the reader missed nothing (the rules of
// store.Streams.ReadStream).
func (h head) start(epoch, since uint64) (uint64, bool) {
	lost := (epoch != 0 && epoch != h.epoch) || (epoch == 0 && since > 0) || since > h.seq
	if lost || since+1 < h.first() {
		return h.first(), false
	}
	return since + 1, true
}

// advance returns what moving a watermark from cur towards through covers:
// the retained messages from+1 .. from+count; next is the new value of the
// watermark, never below cur and never past the head.
func (h head) advance(cur, through uint64) (from, count, next uint64) {
	to := min(through, h.seq)
	from = max(cur, h.seq-h.n)
	if to > from {
		count = to - from
	}
	return from, count, max(cur, to)
}

// window is one read of a stream: its head, and the retained messages from
// sequence number start on.
type window struct {
	head
	start     uint64
	recovered bool
	msgs      [][]byte
}

// startIndexExp returns the expression the server evaluates for the list
// index of head.start(epoch, since): the same rule, on the bins of the
// record the read sees. Parts the client can decide alone are constants.
func startIndexExp(epoch, since uint64) *as.Expression {
	if since == 0 || epoch == 0 || epoch > store.MaxEpoch || since > math.MaxInt64 {
		// From the oldest retained message: a new reader, a reader with
		// no epoch (lost when since > 0), or values no stream can have.
		return as.ExpIntVal(0)
	}
	seq := as.ExpIntBin(binSeq)
	n := as.ExpListSize(as.ExpListBin(binMsgs))
	lost := as.ExpOr(
		as.ExpNotEq(as.ExpIntBin(binEpoch), as.ExpIntVal(int64(epoch))),
		as.ExpGreater(as.ExpIntVal(int64(since)), seq),
	)
	// since+1 - first = since - seq + n, or 0 when since+1 is trimmed.
	after := as.ExpMax(as.ExpIntVal(0), as.ExpNumAdd(as.ExpIntVal(int64(since)), as.ExpNumSub(n, seq)))
	return as.ExpCond(lost, as.ExpIntVal(0), after)
}

// readOps returns the operations of one read: the head and up to count
// messages from where a reader at (epoch, since) starts. They run in one
// Operate, so the head and the messages are one snapshot.
func readOps(epoch, since uint64, count int) []*as.Operation {
	return []*as.Operation{
		as.GetBinOp(binEpoch),
		as.GetBinOp(binSeq),
		as.ExpReadOp(resLen, as.ExpListSize(as.ExpListBin(binMsgs)), as.ExpReadFlagEvalNoFail),
		as.ExpReadOp(resMsgs, as.ExpListGetByIndexRangeCount(as.ListReturnTypeValue,
			startIndexExp(epoch, since), as.ExpIntVal(int64(count)), as.ExpListBin(binMsgs)),
			as.ExpReadFlagEvalNoFail),
	}
}

// readWindow reads up to count messages of a stream from where a reader at
// (epoch, since) starts. A stream that does not exist, or a record without
// an epoch (it holds only outcomes), has the zero head.
func (s *Store) readWindow(ctx context.Context, deviceID string, epoch, since uint64, count int) (window, error) {
	p, err := s.operateReadPolicy(ctx)
	if err != nil {
		return window{}, fmt.Errorf("aerostore: read stream: %w", err)
	}
	key, err := s.key(s.streams, deviceID)
	if err != nil {
		return window{}, err
	}
	rec, aerr := s.client.Operate(p, key, readOps(epoch, since, count)...)
	if code(aerr) == codeNotFound {
		start, ok := head{}.start(epoch, since)
		return window{start: start, recovered: ok}, nil
	}
	if aerr != nil {
		return window{}, mapErr(ctx, "read stream", aerr)
	}
	return parseWindow(rec.Bins, epoch, since, count)
}

// parseWindow checks what readOps returned and labels the messages.
func parseWindow(bins as.BinMap, epoch, since uint64, count int) (window, error) {
	var w window
	var err error
	if w.epoch, err = toUint(bins[binEpoch]); err != nil {
		return window{}, err
	}
	if w.epoch == 0 {
		w.start, w.recovered = head{}.start(epoch, since)
		return w, nil
	}
	if w.seq, err = toUint(bins[binSeq]); err != nil {
		return window{}, err
	}
	if w.n, err = toUint(bins[resLen]); err != nil {
		return window{}, err
	}
	if w.msgs, err = toBlobs(bins[resMsgs]); err != nil {
		return window{}, err
	}
	if w.n > w.seq {
		return window{}, fmt.Errorf("aerostore: %w: stream head %d with %d messages", errMalformed, w.seq, w.n)
	}
	w.start, w.recovered = w.head.start(epoch, since)
	// The server read from the same start: up to count messages, to the
	// head.
	want := 0
	if w.start <= w.seq {
		want = int(min(uint64(count), w.seq+1-w.start))
	}
	if len(w.msgs) != want {
		return window{}, fmt.Errorf("aerostore: %w: read %d messages from %d of stream head %d, want %d",
			errMalformed, len(w.msgs), w.start, w.seq, want)
	}
	return w, nil
}

// ReadStream returns up to limit unexpired messages after since. Each read
// is one Operate that returns the head and the messages at one point in
// time; a page that skips many expired messages reads on from where the
// last read ended, and says Recovered false when messages were trimmed in
// between.
func (s *Store) ReadStream(ctx context.Context, deviceID string, epoch, since uint64, limit int) (store.Page, error) {
	limit = max(limit, 0)
	count := readChunk
	if limit < readChunk {
		count = limit + 1 // one more tells whether there is more
	}
	w, err := s.readWindow(ctx, deviceID, epoch, since, count)
	if err != nil {
		return store.Page{}, err
	}
	page := store.Page{Epoch: w.epoch, Head: w.seq, Recovered: w.recovered}
	now := s.cfg.Now()
	for {
		next := w.start
		for i, b := range w.msgs {
			m, err := decodeMessage(b)
			if err != nil {
				return store.Page{}, fmt.Errorf("aerostore: stream %s: %w", deviceID, err)
			}
			m.Seq = w.start + uint64(i)
			next = m.Seq + 1
			if !m.ExpiresAt.IsZero() && m.ExpiresAt.Before(now) {
				continue
			}
			if len(page.Messages) == limit {
				page.More = true
				return page, nil
			}
			page.Messages = append(page.Messages, m)
		}
		if len(w.msgs) < count {
			return page, nil
		}
		if w, err = s.readWindow(ctx, deviceID, page.Epoch, next-1, count); err != nil {
			return store.Page{}, err
		}
		if w.epoch != page.Epoch {
			page.Recovered = false // the stream was lost meanwhile
			return page, nil
		}
		page.Head = w.seq
		if !w.recovered || w.start != next {
			page.Recovered = false // trimmed meanwhile
		}
	}
}

// markBin returns the bin of a watermark.
func markBin(mark store.Mark) (string, error) {
	switch mark {
	case store.MarkSent:
		return binSent, nil
	case store.MarkAcked:
		return binAcked, nil
	}
	return "", fmt.Errorf("aerostore: unknown mark %d", mark)
}

// advanceReads is how many of advanceOps' operations read; the write
// follows them, and AdvanceAcked runs the reads alone.
const advanceReads = 4

// advanceOps returns the operations of one Advance. The expressions compute
// head.advance on the server, from the record the Operate holds locked:
// the reads see the watermark before the write moves it.
func advanceOps(bin string, through uint64) []*as.Operation {
	cur := func() *as.Expression {
		return as.ExpCond(as.ExpBinExists(bin), as.ExpIntBin(bin), as.ExpIntVal(0))
	}
	seq := func() *as.Expression { return as.ExpIntBin(binSeq) }
	n := func() *as.Expression { return as.ExpListSize(as.ExpListBin(binMsgs)) }
	base := func() *as.Expression { return as.ExpNumSub(seq(), n()) } // first-1
	to := func() *as.Expression { return as.ExpMin(as.ExpIntVal(int64(min(through, math.MaxInt64))), seq()) }
	from := func() *as.Expression { return as.ExpMax(cur(), base()) }
	count := func() *as.Expression { return as.ExpMax(as.ExpIntVal(0), as.ExpNumSub(to(), from())) }
	covered := as.ExpCond(
		// Old servers read a count of 0 as "to the end": ask for none.
		as.ExpEq(count(), as.ExpIntVal(0)), as.ExpListVal(),
		as.ExpListGetByIndexRangeCount(as.ListReturnTypeValue,
			as.ExpNumSub(from(), base()), count(), as.ExpListBin(binMsgs)),
	)
	return []*as.Operation{
		as.ExpReadOp(resMark, cur(), as.ExpReadFlagEvalNoFail),
		as.ExpReadOp(resSeq, seq(), as.ExpReadFlagEvalNoFail),
		as.ExpReadOp(resLen, n(), as.ExpReadFlagEvalNoFail),
		as.ExpReadOp(resMsgs, covered, as.ExpReadFlagEvalNoFail),
		// A record without a stream (only outcomes) fails the expression,
		// and EvalNoFail leaves the bin alone.
		as.ExpWriteOp(bin, as.ExpMax(cur(), to()), as.ExpWriteFlagEvalNoFail),
	}
}

// Advance moves a watermark forward, at most to the head, and returns the
// retained messages it newly covers, expired ones included. It is one
// Operate that reads the watermark, the head and the covered messages and
// writes the new watermark under the record's lock, so concurrent calls
// cover each message once.
func (s *Store) Advance(ctx context.Context, deviceID string, mark store.Mark, through uint64) ([]store.Message, error) {
	bin, err := markBin(mark)
	if err != nil {
		return nil, err
	}
	p, err := s.writePolicy(ctx)
	if err != nil {
		return nil, fmt.Errorf("aerostore: advance: %w", err)
	}
	p.RecordExistsAction = as.UPDATE_ONLY // no stream, nothing to advance
	key, err := s.key(s.streams, deviceID)
	if err != nil {
		return nil, err
	}
	rec, aerr := s.client.Operate(p, key, advanceOps(bin, through)...)
	if code(aerr) == codeNotFound {
		return nil, nil
	}
	if aerr != nil {
		return nil, mapErr(ctx, "advance", aerr)
	}
	msgs, _, err := parseAdvance(rec.Bins, through)
	return msgs, err
}

// parseAdvance checks what advanceOps returned and labels the messages; next
// is the value the watermark moves to (its value before when it does not
// move, 0 for a record without a stream).
func parseAdvance(bins as.BinMap, through uint64) (msgs []store.Message, next uint64, err error) {
	if bins[resSeq] == nil {
		return nil, 0, nil // a record without a stream
	}
	var h head
	cur, err := toUint(bins[resMark])
	if err == nil {
		h.seq, err = toUint(bins[resSeq])
	}
	if err == nil {
		h.n, err = toUint(bins[resLen])
	}
	if err != nil {
		return nil, 0, err
	}
	blobs, err := toBlobs(bins[resMsgs])
	if err != nil {
		return nil, 0, err
	}
	from, count, next := h.advance(cur, min(through, math.MaxInt64))
	if h.n > h.seq || uint64(len(blobs)) != count {
		return nil, 0, fmt.Errorf("aerostore: %w: advance from %d covered %d messages, want %d", errMalformed, cur, len(blobs), count)
	}
	for i, b := range blobs {
		m, err := decodeMessage(b)
		if err != nil {
			return nil, 0, err
		}
		m.Seq = from + 1 + uint64(i)
		msgs = append(msgs, m)
	}
	return msgs, next, nil
}

// Watermark returns the current value of a watermark, 0 if it never moved.
func (s *Store) Watermark(ctx context.Context, deviceID string, mark store.Mark) (uint64, error) {
	bin, err := markBin(mark)
	if err != nil {
		return 0, err
	}
	p, err := s.readPolicy(ctx)
	if err != nil {
		return 0, fmt.Errorf("aerostore: watermark: %w", err)
	}
	key, err := s.key(s.streams, deviceID)
	if err != nil {
		return 0, err
	}
	rec, aerr := s.client.Get(p, key, bin)
	if code(aerr) == codeNotFound {
		return 0, nil
	}
	if aerr != nil {
		return 0, mapErr(ctx, "watermark", aerr)
	}
	return toUint(rec.Bins[bin])
}
