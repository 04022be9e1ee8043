package aerostore

import (
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"

	"github.com/mopush/mopush/internal/store"
)

// Bins of a stream record, one record per device in the streams set.
const (
	binEpoch = "epoch" // int: the stream's epoch, written once
	binSeq   = "seq"   // int: sequence number of the newest message
	binMsgs  = "msgs"  // list of blobs: the retained messages, oldest first
	binSent  = "sent"  // int: store.MarkSent
	binAcked = "acked" // int: store.MarkAcked
	binOut   = "out"   // key-ordered map seq -> store.Outcome
)

// Names of the results of expression reads. They differ from every bin, so
// that each name answers exactly once in an Operate that also writes.
const (
	resEpoch = "r_epoch"
	resSeq   = "r_seq"
	resLen   = "r_len"
	resMsgs  = "r_msgs"
	resMark  = "r_mark"
)

// maxAttempts bounds the retries of one call after a lost race, a busy key
// or a record that grew too big.
const maxAttempts = 16

// maxRecordBytes is the largest max-record-size a server accepts: messages
// of one append to one device that add up to more can never be stored.
const maxRecordBytes = 8 << 20

// appendGroup is the entries of one Append for one device, in entry order.
type appendGroup struct {
	device string
	idx    []int // positions of the entries in the Append
	blobs  []any // encoded messages, each a []byte
	keep   int   // how many messages the stream keeps after this append
	floor  int   // the least keep may shrink to
	known  int   // a keep that fitted the device's record lately, or 0
	epoch  uint64
}

// appendResult is what one append to one device returned.
type appendResult struct {
	epoch, seq uint64 // the stream's epoch and new head
	err        error  // a client error that the caller may retry
}

// Append appends the messages to their devices' streams and returns their
// positions by entry order. Each device's messages go to its stream record
// in one Operate (one BatchOperate for several devices), which the server
// applies atomically under the record's lock: the epoch is created when
// missing, the sequence number grows by the number of messages, they are
// appended to the message list, and the list is trimmed to the newest
// Config.MaxStreamLen. So appends to one device are serialised and their
// sequence numbers have no gaps or repeats. Appends to different devices
// are not atomic together: on an error some devices may have their
// messages and others not.
func (s *Store) Append(ctx context.Context, entries []store.Entry) ([]store.Position, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	groups, err := s.groupEntries(entries)
	if err != nil {
		return nil, err
	}
	pos := make([]store.Position, len(entries))
	// Room for halving the kept messages down to one, besides busy keys.
	limit := maxAttempts + bits.Len(uint(s.cfg.MaxStreamLen))
	for attempt := 0; len(groups) > 0; attempt++ {
		if attempt >= limit {
			return nil, fmt.Errorf("aerostore: append: %w", ErrContended)
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, fmt.Errorf("aerostore: append: %w", err)
		}
		results, err := s.appendOnce(ctx, groups)
		if err != nil {
			return nil, err
		}
		var retry []*appendGroup
		for i, g := range groups {
			again, err := s.settle(ctx, g, results[i], pos)
			if err != nil {
				return nil, err
			}
			if again {
				retry = append(retry, g)
			}
		}
		groups = retry
	}
	return pos, nil
}

// groupEntries encodes the messages and groups them by device, in order of
// first appearance.
func (s *Store) groupEntries(entries []store.Entry) ([]*appendGroup, error) {
	byDevice := make(map[string]*appendGroup, 1)
	var groups []*appendGroup
	for i := range entries {
		e := &entries[i]
		if e.DeviceID == "" {
			return nil, fmt.Errorf("aerostore: append: entry %d has no device id", i)
		}
		g, ok := byDevice[e.DeviceID]
		if !ok {
			g = &appendGroup{device: e.DeviceID, epoch: newEpoch()}
			byDevice[e.DeviceID] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
		g.blobs = append(g.blobs, encodeMessage(&e.Message))
	}
	for _, g := range groups {
		g.floor = min(len(g.blobs), s.cfg.MaxStreamLen)
		g.keep, g.known = s.fits.start(g.device, s.cfg.MaxStreamLen)
		g.keep = max(g.keep, g.floor)
		if size := g.newestBytes(g.floor); size > maxRecordBytes {
			return nil, fmt.Errorf("aerostore: append %d bytes to %s: %w", size, g.device, ErrRecordTooBig)
		}
	}
	return groups, nil
}

// newestBytes returns the encoded size of the group's newest n messages.
func (g *appendGroup) newestBytes(n int) int {
	size := 0
	for _, b := range g.blobs[len(g.blobs)-n:] {
		size += len(b.([]byte))
	}
	return size
}

// newEpoch returns a random epoch in [1, store.MaxEpoch].
func newEpoch() uint64 {
	return 1 + rand.Uint64N(store.MaxEpoch)
}

// appendOps returns the operations of one group's append. Their order
// matters: the reads at the end see the record as the writes left it.
func appendOps(g *appendGroup) []*as.Operation {
	return []*as.Operation{
		// The epoch is written only when the bin does not exist yet; the
		// first append to a stream wins any race to create it.
		as.ExpWriteOp(binEpoch, as.ExpIntVal(int64(g.epoch)),
			as.ExpWriteFlagCreateOnly|as.ExpWriteFlagPolicyNoFail),
		as.AddOp(as.NewBin(binSeq, len(g.blobs))),
		as.ListAppendOp(binMsgs, g.blobs...),
		// Keep the newest g.keep messages: remove everything outside the
		// last g.keep (a range partly out of bounds is clamped).
		as.ListRemoveByIndexRangeCountOp(binMsgs, -g.keep, g.keep,
			as.ListReturnTypeNone|as.ListReturnTypeInverted),
		as.ExpReadOp(resEpoch, as.ExpIntBin(binEpoch), as.ExpReadFlagDefault),
		as.ExpReadOp(resSeq, as.ExpIntBin(binSeq), as.ExpReadFlagDefault),
	}
}

// appendOnce runs one attempt for every group. A per-record error that
// settle may retry comes back in the group's result; any other error ends
// the Append.
func (s *Store) appendOnce(ctx context.Context, groups []*appendGroup) ([]appendResult, error) {
	if len(groups) == 1 {
		return s.appendOne(ctx, groups[0])
	}
	p, err := s.batchPolicy(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("aerostore: append: %w", err)
	}
	records := make([]as.BatchRecordIfc, len(groups))
	for i, g := range groups {
		key, err := s.key(s.streams, g.device)
		if err != nil {
			return nil, err
		}
		records[i] = as.NewBatchWrite(nil, key, appendOps(g)...)
	}
	if aerr := s.client.BatchOperate(p, records); aerr != nil {
		return nil, mapErr(ctx, "append", aerr)
	}
	results := make([]appendResult, len(groups))
	for i, r := range records {
		br := r.BatchRec()
		if br.ResultCode != codeOK {
			results[i].err = batchErr(br)
			continue
		}
		results[i] = parseAppend(br.Record)
	}
	return results, nil
}

func (s *Store) appendOne(ctx context.Context, g *appendGroup) ([]appendResult, error) {
	p, err := s.writePolicy(ctx)
	if err != nil {
		return nil, fmt.Errorf("aerostore: append: %w", err)
	}
	key, err := s.key(s.streams, g.device)
	if err != nil {
		return nil, err
	}
	rec, aerr := s.client.Operate(p, key, appendOps(g)...)
	if aerr != nil {
		if retryable(aerr) {
			return []appendResult{{err: aerr}}, nil
		}
		return nil, mapErr(ctx, "append", aerr)
	}
	return []appendResult{parseAppend(rec)}, nil
}

// batchErr returns the error of one failed record of a batch.
func batchErr(br *as.BatchRecord) error {
	if err := asError(br.Err); !isNil(err) {
		return err
	}
	return &as.AerospikeError{ResultCode: br.ResultCode, InDoubt: br.InDoubt}
}

// retryable reports whether a failed append was certainly not applied and
// may succeed when tried again: the key was busy, or the record would have
// grown too big (settle then keeps fewer messages).
func retryable(err error) bool {
	switch code(err) {
	case codeKeyBusy:
		return !inDoubt(err)
	case codeRecordBig:
		return true
	}
	return false
}

// parseAppend reads the epoch and the new head that an append returned.
func parseAppend(rec *as.Record) appendResult {
	if rec == nil {
		return appendResult{err: fmt.Errorf("aerostore: %w: append returned no record", errMalformed)}
	}
	epoch, err := toUint(rec.Bins[resEpoch])
	if err != nil {
		return appendResult{err: err}
	}
	seq, err := toUint(rec.Bins[resSeq])
	if err != nil {
		return appendResult{err: err}
	}
	return appendResult{epoch: epoch, seq: seq}
}

// settle records the positions of a group that was appended, or says that
// it should be tried again.
func (s *Store) settle(ctx context.Context, g *appendGroup, r appendResult, pos []store.Position) (again bool, err error) {
	if r.err != nil {
		switch {
		case code(r.err) == codeRecordBig:
			if g.keep <= g.floor {
				return false, fmt.Errorf("aerostore: append %d messages to %s: %w", len(g.blobs), g.device, ErrRecordTooBig)
			}
			if g.known > 0 && g.known < g.keep {
				g.keep = max(g.known, g.floor) // a probe for more did not fit
				return true, nil
			}
			g.keep = max(g.keep/2, g.floor)
			g.known = 0
			s.log.Warn("stream record too big, keeping fewer messages", "device_id", g.device, "keep", g.keep)
			return true, nil
		case retryable(r.err):
			return true, nil
		}
		return false, mapErr(ctx, "append", r.err)
	}
	n := uint64(len(g.blobs))
	if r.epoch == 0 || r.epoch > store.MaxEpoch || r.seq < n {
		return false, fmt.Errorf("aerostore: append to %s: %w: epoch %d, head %d after %d messages", g.device, errMalformed, r.epoch, r.seq, n)
	}
	s.fits.record(g.device, g.keep, s.cfg.MaxStreamLen)
	for j, i := range g.idx {
		pos[i] = store.Position{Epoch: r.epoch, Seq: r.seq - n + 1 + uint64(j)}
	}
	return false, nil
}

// backoff waits before attempt: not at all before the first, then a few
// jittered milliseconds growing with the attempt, or until ctx is done.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return ctx.Err()
	}
	d := time.Duration(1<<min(attempt, 6)) * time.Millisecond
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RenewEpoch moves a device's stream that went back in epoch (a reader
// found a position past its head, or a message it had gone) to a new
// epoch, keeping its messages, numbers and watermarks, in one Operate: the
// epoch bin is rewritten only while it holds epoch. It returns the stream's
// epoch afterwards: the new one, the one another reader gave it, or 0 for
// a stream that does not exist (decisions.md, "Streams that lose
// messages").
func (s *Store) RenewEpoch(ctx context.Context, deviceID string, epoch uint64) (uint64, error) {
	p, err := s.writePolicy(ctx)
	if err != nil {
		return 0, fmt.Errorf("aerostore: renew epoch: %w", err)
	}
	p.RecordExistsAction = as.UPDATE_ONLY
	key, err := s.key(s.streams, deviceID)
	if err != nil {
		return 0, err
	}
	fresh := newEpoch()
	rec, aerr := s.client.Operate(p, key,
		as.ExpWriteOp(binEpoch, as.ExpCond(
			as.ExpEq(as.ExpIntBin(binEpoch), as.ExpIntVal(int64(epoch))), as.ExpIntVal(int64(fresh)),
			as.ExpIntBin(binEpoch)), as.ExpWriteFlagDefault),
		as.ExpReadOp(resEpoch, as.ExpIntBin(binEpoch), as.ExpReadFlagDefault))
	if code(aerr) == codeNotFound {
		return 0, nil
	}
	if aerr != nil {
		return 0, mapErr(ctx, "renew epoch", aerr)
	}
	now, err := toUint(rec.Bins[resEpoch])
	if err != nil {
		return 0, fmt.Errorf("aerostore: renew epoch of %s: %w", deviceID, err)
	}
	if now == fresh {
		s.log.ErrorContext(ctx, "a device stream went back: it goes on under a new epoch, and its device reads it again from its oldest message",
			"device_id", deviceID, "epoch", now)
	}
	return now, nil
}

// DropStream removes a device's stream record: its messages, watermarks
// and outcomes. Dropping a missing stream is not an error.
func (s *Store) DropStream(ctx context.Context, deviceID string) error {
	key, err := s.key(s.streams, deviceID)
	if err != nil {
		return err
	}
	p, err := s.writePolicy(ctx)
	if err != nil {
		return fmt.Errorf("aerostore: drop stream: %w", err)
	}
	_, aerr := s.client.Delete(p, key)
	if code(aerr) == codeNotFound {
		return nil
	}
	return mapErr(ctx, "drop stream", aerr)
}
