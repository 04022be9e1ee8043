package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/store"
)

// batchParallel bounds the checks of one message that run at once.
const batchParallel = 8

// handleFallback runs the due checks of a fallback message and turns the
// targets that need the relay into send jobs. A message with no job due
// yet comes back when they are. Jobs that are not due, in a message that
// has due ones, and jobs whose check failed go back to the queue as a new
// message (the failed ones after a backoff); the message is acknowledged
// once they and the send jobs are stored.
func (e *Engine) handleFallback(ctx context.Context, msg jetstream.Msg) {
	// A message that says when it is due goes back until then unread.
	if at, ok := relayq.WakeOf(msg.Headers()); ok {
		if d := at.Sub(e.cfg.Now()); d > 0 {
			msg.NakWithDelay(d) //nolint:errcheck // redelivered after AckWait anyway
			return
		}
	}
	jobs, err := relayq.DecodeBatch(msg.Data())
	if err != nil {
		e.log.ErrorContext(ctx, "dropping malformed relay fallback message", "error", err)
		msg.Term() //nolint:errcheck // nothing else to do with it
		return
	}
	start := time.Now()
	defer func() { e.m.handleS.WithLabelValues("fallback").Observe(time.Since(start).Seconds()) }()
	now := e.cfg.Now()
	var due, later []relayq.Job
	for _, j := range jobs {
		if j.Due().After(now) {
			later = append(later, j)
		} else {
			due = append(due, j)
		}
	}
	if len(due) == 0 {
		msg.NakWithDelay(wake(later, now)) //nolint:errcheck // redelivered after AckWait anyway
		return
	}
	sends, failed := e.checkAll(ctx, due)
	requeue := later
	for _, j := range failed {
		j.Attempt++
		j.DueMs = now.Add(e.backoff(j.Attempt)).UnixMilli()
		requeue = append(requeue, j)
	}
	if err := e.pub.Send(ctx, sends); err != nil {
		e.log.WarnContext(ctx, "publish send jobs failed; retrying", "error", err)
		msg.NakWithDelay(e.backoff(attempts(msg))) //nolint:errcheck // redelivered after AckWait anyway
		return
	}
	if err := e.pub.Schedule(ctx, requeue); err != nil {
		e.log.WarnContext(ctx, "requeue fallback checks failed; retrying", "error", err)
		msg.NakWithDelay(e.backoff(attempts(msg))) //nolint:errcheck // redelivered after AckWait anyway
		return
	}
	msg.Ack() //nolint:errcheck // a lost ack redelivers; outcomes make that harmless
}

// wake returns how long until a message whose jobs are all due later
// should come back (relayq.Wake).
func wake(jobs []relayq.Job, now time.Time) time.Duration {
	return relayq.Wake(jobs).Sub(now)
}

// checkAll runs the fallback checks of jobs, a few at once, and returns the
// send jobs they made and the jobs whose check failed.
func (e *Engine) checkAll(ctx context.Context, jobs []relayq.Job) (sends, failed []relayq.Job) {
	type result struct {
		send *relayq.Job
		err  error
	}
	res := make([]result, len(jobs))
	var next atomic.Int64
	check := func() {
		for i := int(next.Add(1) - 1); i < len(jobs); i = int(next.Add(1) - 1) {
			res[i].send, res[i].err = e.fallback(ctx, jobs[i])
		}
	}
	var wg sync.WaitGroup
	for range min(batchParallel, len(jobs)) - 1 {
		wg.Go(check)
	}
	check()
	wg.Wait()
	for i, r := range res {
		switch {
		case r.err != nil:
			e.log.WarnContext(ctx, "relay fallback check failed; retrying", "push_id", jobs[i].PushID, "device_id", jobs[i].DeviceID, "error", r.err)
			failed = append(failed, jobs[i])
		case r.send != nil:
			sends = append(sends, *r.send)
		}
	}
	return sends, failed
}

// fallback checks a due target: nothing to do when it is settled; an
// outcome when it expired or has no vendor channel; otherwise the send job
// that relays it.
func (e *Engine) fallback(ctx context.Context, j relayq.Job) (*relayq.Job, error) {
	now := e.cfg.Now()
	var read *store.Target // j's position in its stream, read at once
	if j.Seq > 0 && j.Epoch > 0 {
		t, err := e.readTarget(ctx, j)
		if err != nil {
			return nil, err
		}
		in, wentBack := placed(t, j)
		if wentBack && e.cfg.Renewer != nil {
			// Later messages may have taken the lost ones' numbers: a device
			// that holds the lost ones must read the stream again.
			if _, err := e.cfg.Renewer.RenewEpoch(ctx, j.DeviceID, j.Epoch); err != nil {
				return nil, fmt.Errorf("renew the stream's epoch: %w", err)
			}
		}
		if in {
			read = &t
		} else {
			// The watermarks, and the outcome kept at the position, are
			// those of other messages now: the target is relayed as one
			// outside the stream, whose outcome has a key of its own.
			e.m.gone.Inc()
			e.log.WarnContext(ctx, "a fallback check's message is no longer in its device's stream; relaying it",
				"push_id", j.PushID, "device_id", j.DeviceID, "epoch", j.Epoch, "seq", j.Seq)
			j.Seq, j.Epoch = 0, 0
		}
	}
	done, err := e.settled(ctx, j, read)
	if err != nil || done {
		return nil, err
	}
	p, err := e.push(ctx, j.PushID)
	if err != nil {
		return nil, fmt.Errorf("load push: %w", err)
	}
	if expired(p, now) {
		return nil, e.record(ctx, j, store.OutcomeExpired, store.Counts{})
	}
	vendor, token, err := e.channel(ctx, j)
	if err != nil {
		return nil, err
	}
	if vendor == "" {
		return nil, e.record(ctx, j, store.OutcomeNoChannel, store.Counts{})
	}
	j.Vendor, j.Token, j.Attempt = vendor, token, 0
	return &j, nil
}

// readTarget reads what the check of j needs of its stream: in one round
// trip when the store offers it (Config.Targets), else with a read of the
// stream at j's position (two in another epoch), of the ack watermark and
// of the outcome.
func (e *Engine) readTarget(ctx context.Context, j relayq.Job) (store.Target, error) {
	if e.cfg.Targets != nil {
		t, err := e.cfg.Targets.ReadTarget(ctx, j.DeviceID, j.Seq)
		if err != nil {
			return t, fmt.Errorf("read target: %w", err)
		}
		return t, nil
	}
	page, err := e.store.ReadStream(ctx, j.DeviceID, j.Epoch, j.Seq-1, 1)
	if err == nil && page.Epoch != j.Epoch && page.Epoch != 0 && j.Seq <= page.Head {
		// The read started at the oldest message: read at the position.
		page, err = e.store.ReadStream(ctx, j.DeviceID, page.Epoch, j.Seq-1, 1)
	}
	if err != nil {
		return store.Target{}, fmt.Errorf("read stream: %w", err)
	}
	t := store.Target{Epoch: page.Epoch, Head: page.Head}
	if len(page.Messages) > 0 && page.Messages[0].Seq == j.Seq {
		t.PushAt = page.Messages[0].PushID
	}
	if t.Acked, err = e.store.Watermark(ctx, j.DeviceID, store.MarkAcked); err != nil {
		return t, fmt.Errorf("ack watermark: %w", err)
	}
	if t.Outcome, err = outcome.Of(ctx, e.store, target(j)); err != nil {
		return t, fmt.Errorf("outcome: %w", err)
	}
	return t, nil
}

// placed reports whether j's message is still at its position in the
// device's stream, as t read it. A stream that lost messages after it had
// taken them (a Redis shard restarted without the newest writes, a stream
// lost and started again under a new epoch) has a head below the position,
// or another push there (decisions.md, "Streams that lose messages");
// wentBack says it is still in j's epoch. In another epoch the message is
// there if its push is at its position: the stream moved to a new epoch
// keeping its numbers. A message trimmed (or expired, which the embedded
// store's read leaves out) was there.
func placed(t store.Target, j relayq.Job) (in, wentBack bool) {
	switch {
	case t.Epoch != j.Epoch:
		return t.PushAt == j.PushID, false
	case j.Seq > t.Head, t.PushAt != "" && t.PushAt != j.PushID:
		return false, true
	}
	return true, false
}

// settled reports whether the target needs nothing more: acknowledged, or
// already given an outcome. read, when not nil, is the target's stream
// position as fallback read it, with the watermark and the outcome.
func (e *Engine) settled(ctx context.Context, j relayq.Job, read *store.Target) (bool, error) {
	var (
		acked uint64
		o     store.Outcome
		err   error
	)
	switch {
	case read != nil:
		acked, o = read.Acked, read.Outcome
	case j.Seq > 0:
		if acked, err = e.store.Watermark(ctx, j.DeviceID, store.MarkAcked); err != nil {
			return false, fmt.Errorf("ack watermark: %w", err)
		}
		fallthrough
	default:
		if o, err = outcome.Of(ctx, e.store, target(j)); err != nil {
			return false, fmt.Errorf("outcome: %w", err)
		}
	}
	if j.Seq > 0 && acked >= j.Seq {
		if o == store.OutcomeNone {
			// The watermark moves before the outcomes below it are
			// recorded: a connector killed in between left this one
			// unrecorded (decisions.md, "Counts after a connector crash").
			if err := e.record(ctx, j, store.OutcomeAcked, store.Counts{}); err != nil {
				return false, err
			}
			e.m.acksRecorded.Inc()
		}
		return true, nil
	}
	return o != store.OutcomeNone, nil
}

func expired(p *store.Push, now time.Time) bool {
	return !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt)
}

// channel picks the device's vendor channel: the first vendor in the
// configured order for which the device has a token and the app a
// credential. An empty vendor means there is none.
func (e *Engine) channel(ctx context.Context, j relayq.Job) (vendor, token string, err error) {
	devs, err := e.store.Devices(ctx, []string{j.DeviceID})
	if err != nil {
		return "", "", fmt.Errorf("load device: %w", err)
	}
	d := devs[0]
	if d == nil || len(d.Tokens) == 0 {
		return "", "", nil
	}
	creds, err := e.store.CredentialVendors(ctx, j.AppID)
	if err != nil {
		return "", "", fmt.Errorf("credential vendors: %w", err)
	}
	for _, v := range e.cfg.VendorOrder {
		if t := d.Tokens[v]; t != "" && slices.Contains(creds, v) {
			return v, t, nil
		}
	}
	return "", "", nil
}
