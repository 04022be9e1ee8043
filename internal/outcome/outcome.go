// Package outcome records what became of each target of a push: the
// device's acknowledgement (over the socket or over HTTP) and the relay's
// vendor results. Each target ends in exactly one outcome; recording one
// adjusts the push's counters by the change.
package outcome

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// Store is what recording outcomes needs.
type Store interface {
	Advance(ctx context.Context, deviceID string, mark store.Mark, through uint64) ([]store.Message, error)
	SetOutcome(ctx context.Context, deviceID string, seq uint64, o store.Outcome) (store.Outcome, bool, error)
	AddCounts(ctx context.Context, pushID string, delta store.Counts) error
}

// Target names one target: a device's stream message, or, for a push that
// never reached the stream (routing failed), the device and the push.
type Target struct {
	DeviceID string
	Seq      uint64 // 0: not in the stream
	PushID   string
}

// key is where the target's outcome is kept: its stream position, or a
// per-push key for a target outside the stream.
func (t Target) key() (string, uint64) {
	if t.Seq > 0 {
		return t.DeviceID, t.Seq
	}
	return t.DeviceID + "#" + t.PushID, 0
}

// Store for reading one outcome.
type reader interface {
	OutcomeOf(ctx context.Context, deviceID string, seq uint64) (store.Outcome, error)
}

// Of returns t's recorded outcome.
func Of(ctx context.Context, st reader, t Target) (store.Outcome, error) {
	id, seq := t.key()
	return st.OutcomeOf(ctx, id, seq)
}

// Record sets t's outcome to o when o replaces the recorded one, and
// adjusts the push's counters. extra is added to the counters as well
// (e.g. a dead token), whether or not the outcome changed. A push that is
// no longer stored (a record expired by the store's own TTL) has no
// counters left to adjust: its target's outcome is still recorded, and
// that is no error.
//
// On a store that counts outcomes with them (store.OutcomeCounter), the
// outcome and its counts are one write.
func Record(ctx context.Context, st Store, t Target, o store.Outcome, extra store.Counts) (bool, error) {
	id, seq := t.key()
	if oc, ok := outcomeCounter(st); ok {
		_, set, err := oc.SetOutcomeCounted(ctx, id, seq, o, t.PushID, extra)
		if err != nil {
			return false, fmt.Errorf("set outcome: %w", err)
		}
		return set, nil
	}
	prev, set, err := st.SetOutcome(ctx, id, seq, o)
	if err != nil {
		return false, fmt.Errorf("set outcome: %w", err)
	}
	delta := extra
	if set {
		delta = delta.Add(o.Delta(prev))
	}
	if delta != (store.Counts{}) {
		if err := st.AddCounts(ctx, t.PushID, delta); err != nil && !errors.Is(err, store.ErrNotFound) {
			return set, fmt.Errorf("count outcome: %w", err)
		}
	}
	return set, nil
}

// Ack moves a device's ack watermark to seq and records every newly
// acknowledged message as acked. An acknowledgement covers the whole stream
// up to seq, messages the device never saw because they expired first
// included: those are recorded as expired. It returns how many were new.
// The watermark moves first and does not move back, so a message whose
// outcome fails to be recorded does not keep the messages after it from
// theirs: each is recorded, and the failures are returned together.
//
// On a store that records both at once (store.AckRecorder), the watermark
// and the outcomes are one write, and the counters follow it unless the
// store counted them in that write too (store.Acked.Counted); one that
// says errors.ErrUnsupported is acknowledged in two writes.
func Ack(ctx context.Context, st Store, deviceID string, seq uint64, now time.Time) (int, error) {
	var delay func(time.Duration)
	if s, ok := st.(Summed); ok {
		delay = s.Delay
	}
	return ackObserved(ctx, st, deviceID, seq, now, delay)
}

// ackObserved is Ack, telling delay (if not nil; Summed.Delay) how soon
// each message it records as acked was acknowledged.
func ackObserved(ctx context.Context, st Store, deviceID string, seq uint64, now time.Time, delay func(time.Duration)) (int, error) {
	observe := func(m store.Message) {
		if delay != nil && !m.SentAt.IsZero() {
			delay(now.Sub(m.SentAt))
		}
	}
	if r, ok := ackRecorder(st); ok {
		n, err := ackAtOnce(ctx, st, r, deviceID, seq, now, observe)
		if !errors.Is(err, errors.ErrUnsupported) {
			return n, err
		}
	}
	msgs, err := st.Advance(ctx, deviceID, store.MarkAcked, seq)
	if err != nil {
		return 0, fmt.Errorf("advance ack watermark: %w", err)
	}
	var errs []error
	for _, m := range msgs {
		o := m.AckOutcome(now)
		set, err := Record(ctx, st, Target{DeviceID: deviceID, Seq: m.Seq, PushID: m.PushID}, o, store.Counts{})
		if err != nil {
			errs = append(errs, fmt.Errorf("seq %d: %w", m.Seq, err))
		}
		if set && o == store.OutcomeAcked {
			observe(m)
			if err := countTiming(ctx, st, m, now); err != nil {
				errs = append(errs, fmt.Errorf("seq %d: %w", m.Seq, err))
			}
		}
	}
	return len(msgs), errors.Join(errs...)
}

// outcomeCounter returns st's store as a store.OutcomeCounter, looking
// through Summed, which adds only the summing of counts.
func outcomeCounter(st Store) (store.OutcomeCounter, bool) {
	if s, ok := st.(Summed); ok {
		st = s.Store
	}
	oc, ok := st.(store.OutcomeCounter)
	return oc, ok
}

// ackRecorder returns st's store as a store.AckRecorder, looking through
// Summed, which adds only the summing of counts.
func ackRecorder(st Store) (store.AckRecorder, bool) {
	if s, ok := st.(Summed); ok {
		st = s.Store
	}
	r, ok := st.(store.AckRecorder)
	return r, ok
}

// ackAtOnce is Ack on a store that moves the watermark and records the
// outcomes in one write; the counters of the outcomes it set follow.
func ackAtOnce(ctx context.Context, st Store, r store.AckRecorder, deviceID string, seq uint64, now time.Time,
	observe func(store.Message)) (int, error) {
	acked, err := r.AdvanceAcked(ctx, deviceID, seq, now)
	if err != nil {
		return 0, fmt.Errorf("advance ack watermark: %w", err)
	}
	var errs []error
	for _, a := range acked {
		if a.Set && a.Outcome == store.OutcomeAcked {
			observe(a.Message)
		}
		if !a.Set || a.Counted {
			continue
		}
		if delta := a.CountsDelta(now); delta != (store.Counts{}) {
			if err := st.AddCounts(ctx, a.Message.PushID, delta); err != nil && !errors.Is(err, store.ErrNotFound) {
				errs = append(errs, fmt.Errorf("seq %d: count outcome: %w", a.Message.Seq, err))
			}
		}
	}
	return len(acked), errors.Join(errs...)
}

// countTiming counts how soon a newly acked message was acknowledged
// (store.AckTiming). A push gone meanwhile is no error.
func countTiming(ctx context.Context, st Store, m store.Message, now time.Time) error {
	t := store.AckTiming(m.SentAt, now)
	if t == (store.Counts{}) {
		return nil
	}
	if err := st.AddCounts(ctx, m.PushID, t); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("count ack delay: %w", err)
	}
	return nil
}
