package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/store"
)

// fallback runs a due fallback check; a positive delay reschedules it.
func (e *Engine) fallback(ctx context.Context, j relayq.Job) (time.Duration, error) {
	now := e.cfg.Now()
	if due := j.Due(); due.After(now) {
		return due.Sub(now), nil
	}
	done, err := e.settled(ctx, j)
	if err != nil || done {
		return 0, err
	}
	p, err := e.push(ctx, j.PushID)
	if err != nil {
		return 0, fmt.Errorf("load push: %w", err)
	}
	if expired(p, now) {
		return 0, e.record(ctx, j, store.OutcomeExpired, store.Counts{})
	}
	vendor, token, err := e.channel(ctx, j)
	if err != nil {
		return 0, err
	}
	if vendor == "" {
		return 0, e.record(ctx, j, store.OutcomeNoChannel, store.Counts{})
	}
	j.Vendor, j.Token = vendor, token
	return 0, e.pub.Send(ctx, []relayq.Job{j})
}

// settled reports whether the target needs nothing more: acknowledged, or
// already given an outcome.
func (e *Engine) settled(ctx context.Context, j relayq.Job) (bool, error) {
	if j.Seq > 0 {
		acked, err := e.store.Watermark(ctx, j.DeviceID, store.MarkAcked)
		if err != nil {
			return false, fmt.Errorf("ack watermark: %w", err)
		}
		if acked >= j.Seq {
			return true, nil
		}
	}
	o, err := outcome.Of(ctx, e.store, target(j))
	if err != nil {
		return false, fmt.Errorf("outcome: %w", err)
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
