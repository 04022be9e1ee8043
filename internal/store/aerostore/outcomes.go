package aerostore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"

	"github.com/mopush/mopush/internal/store"
)

// SetOutcome records o for message seq of a device's stream when o replaces
// the recorded outcome (store.Outcome.Replaces), and returns the outcome it
// had and whether o was recorded.
//
// Outcomes live in the stream record's map bin "out", keyed by sequence
// number, so they go when the stream is lost. One Operate reads the old
// value and writes the new one under the record's lock: an ack is put
// unconditionally (it replaces anything, and putting it over an ack changes
// nothing), every other outcome is put create-only, which the server
// refuses quietly when the key holds a value. So of two racing calls
// exactly one records a first outcome. The same Operate keeps the map to
// the Config.MaxStreamLen highest sequence numbers, which include every
// retained message's.
func (s *Store) SetOutcome(ctx context.Context, deviceID string, seq uint64, o store.Outcome) (store.Outcome, bool, error) {
	if o == store.OutcomeNone {
		prev, err := s.OutcomeOf(ctx, deviceID, seq)
		return prev, false, err
	}
	if seq > math.MaxInt64 {
		return store.OutcomeNone, false, fmt.Errorf("aerostore: set outcome: sequence number %d out of range", seq)
	}
	p, err := s.writePolicy(ctx)
	if err != nil {
		return store.OutcomeNone, false, fmt.Errorf("aerostore: set outcome: %w", err)
	}
	key, err := s.key(s.streams, deviceID)
	if err != nil {
		return store.OutcomeNone, false, err
	}
	rec, aerr := s.client.Operate(p, key, outcomeOps(int64(seq), o, s.cfg.MaxStreamLen)...)
	if aerr != nil {
		return store.OutcomeNone, false, mapErr(ctx, "set outcome", aerr)
	}
	v, err := opResult(rec.Bins[binOut], 0, 3)
	if err != nil {
		return store.OutcomeNone, false, err
	}
	prev, err := toOutcome(v)
	if err != nil {
		return store.OutcomeNone, false, err
	}
	return prev, o.Replaces(prev), nil
}

// outcomeOps returns the operations of SetOutcome; every one answers, so
// the bin's results are [previous value, map size, nothing].
func outcomeOps(seq int64, o store.Outcome, keep int) []*as.Operation {
	flags := as.MapWriteFlagsCreateOnly | as.MapWriteFlagsNoFail
	if o == store.OutcomeAcked {
		flags = as.MapWriteFlagsDefault
	}
	return []*as.Operation{
		as.MapGetByKeyOp(binOut, seq, as.MapReturnType.VALUE),
		as.MapPutOp(as.NewMapPolicyWithFlags(as.MapOrder.KEY_ORDERED, flags), binOut, seq, int(o)),
		trimOutcomesOp(keep),
	}
}

// trimOutcomesOp keeps the outcome map to the keep highest sequence
// numbers.
func trimOutcomesOp(keep int) *as.Operation {
	return as.MapRemoveByIndexRangeCountOp(binOut, -keep, keep, as.MapReturnType.NONE|as.MapReturnType.INVERTED)
}

// AdvanceAcked moves the ack watermark as Advance does and records each
// message it newly covers as acked (expired if it had expired at now)
// where that replaces the recorded outcome, in one write of the stream's
// record: a crash can no longer leave the watermark moved and an outcome
// unrecorded. The covered messages are read first, then one Operate that
// expects the record's generation of that read writes the watermark and
// the outcomes (with SetOutcome's rules and trimming), and reads each
// previous outcome; a write in between (an append, the relay's outcome)
// makes it read again after a backoff, at most maxAttempts times. After those, it
// returns errors.ErrUnsupported, and the caller records the
// acknowledgement in two writes (outcome.Ack).
func (s *Store) AdvanceAcked(ctx context.Context, deviceID string, through uint64, now time.Time) ([]store.Acked, error) {
	key, err := s.key(s.streams, deviceID)
	if err != nil {
		return nil, err
	}
	for attempt := range maxAttempts {
		// A lost race waits a few jittered milliseconds first, so that
		// writers of one busy record do not keep colliding.
		if err := backoff(ctx, attempt); err != nil {
			return nil, fmt.Errorf("aerostore: advance acked: %w", err)
		}
		rp, err := s.operateReadPolicy(ctx)
		if err != nil {
			return nil, fmt.Errorf("aerostore: advance acked: %w", err)
		}
		rec, aerr := s.client.Operate(rp, key, advanceOps(binAcked, through)[:advanceReads]...)
		if code(aerr) == codeNotFound {
			return nil, nil
		}
		if aerr != nil {
			return nil, mapErr(ctx, "advance acked", aerr)
		}
		msgs, next, err := parseAdvance(rec.Bins, through)
		if err != nil {
			return nil, err
		}
		if cur, _ := toUint(rec.Bins[resMark]); next <= cur {
			return nil, nil // nothing to move
		}
		if s.afterAckRead != nil {
			s.afterAckRead()
		}
		acked, ops := ackedOps(msgs, next, now, s.cfg.MaxStreamLen)
		wp, err := s.writePolicy(ctx)
		if err != nil {
			return nil, fmt.Errorf("aerostore: advance acked: %w", err)
		}
		wp.RecordExistsAction = as.UPDATE_ONLY
		wp.GenerationPolicy = as.EXPECT_GEN_EQUAL
		wp.Generation = rec.Generation
		wrec, aerr := s.client.Operate(wp, key, ops...)
		if c := code(aerr); c == codeGeneration || c == codeNotFound {
			continue // written (or lost) since the read: read it again
		}
		if aerr != nil {
			return nil, mapErr(ctx, "advance acked", aerr)
		}
		if len(acked) == 0 {
			return nil, nil
		}
		for i := range acked {
			v, err := opResult(wrec.Bins[binOut], 2*i, 2*len(acked)+1)
			if err != nil {
				return nil, err
			}
			if acked[i].Prev, err = toOutcome(v); err != nil {
				return nil, err
			}
			acked[i].Set = acked[i].Outcome.Replaces(acked[i].Prev)
		}
		return acked, nil
	}
	return nil, errors.ErrUnsupported
}

// ackedOps returns the operations that move the ack watermark to next and
// record msgs' outcomes, and the outcomes without their previous values.
// For each message they read the previous outcome and put the new one as
// SetOutcome does; the map is trimmed once, after them.
func ackedOps(msgs []store.Message, next uint64, now time.Time, keep int) ([]store.Acked, []*as.Operation) {
	ops := []*as.Operation{as.PutOp(as.NewBin(binAcked, int64(min(next, math.MaxInt64))))}
	if len(msgs) == 0 {
		return nil, ops
	}
	acked := make([]store.Acked, len(msgs))
	for i, m := range msgs {
		acked[i] = store.Acked{Message: m, Outcome: m.AckOutcome(now)}
		put := outcomeOps(int64(m.Seq), acked[i].Outcome, keep)
		ops = append(ops, put[0], put[1])
	}
	return acked, append(ops, trimOutcomesOp(keep))
}

// OutcomeOf returns the recorded outcome of message seq of a device's
// stream, OutcomeNone if none.
func (s *Store) OutcomeOf(ctx context.Context, deviceID string, seq uint64) (store.Outcome, error) {
	if seq > math.MaxInt64 {
		return store.OutcomeNone, nil
	}
	p, err := s.operateReadPolicy(ctx)
	if err != nil {
		return store.OutcomeNone, fmt.Errorf("aerostore: outcome: %w", err)
	}
	key, err := s.key(s.streams, deviceID)
	if err != nil {
		return store.OutcomeNone, err
	}
	rec, aerr := s.client.Operate(p, key, as.MapGetByKeyOp(binOut, int64(seq), as.MapReturnType.VALUE))
	if code(aerr) == codeNotFound {
		return store.OutcomeNone, nil
	}
	if aerr != nil {
		return store.OutcomeNone, mapErr(ctx, "outcome", aerr)
	}
	return toOutcome(rec.Bins[binOut])
}

// toOutcome decodes an outcome; nil (no entry) is OutcomeNone.
func toOutcome(v any) (store.Outcome, error) {
	n, err := toUint(v)
	if err != nil {
		return store.OutcomeNone, err
	}
	if n > math.MaxUint8 {
		return store.OutcomeNone, fmt.Errorf("aerostore: %w: outcome %d", errMalformed, n)
	}
	return store.Outcome(n), nil
}

// opResult returns result i of the n operations on one bin of an Operate.
// With several results the client returns them as a list, in operation
// order; a single one comes alone.
func opResult(v any, i, n int) (any, error) {
	if n == 1 {
		return v, nil
	}
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case as.OpResults:
		list = x
	}
	if len(list) != n {
		return nil, fmt.Errorf("aerostore: %w: want %d results of one bin, got %T", errMalformed, n, v)
	}
	return list[i], nil
}
