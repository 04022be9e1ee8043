package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/sdkproto"
)

// Data keys every vendor payload carries for the SDK.
const (
	DataPushID = "mopush_push_id"
	DataSeq    = "mopush_seq"
	DataSealed = "mopush_sealed"
)

// send runs one send job; a positive delay reschedules it.
func (e *Engine) send(ctx context.Context, msg jetstream.Msg, j relayq.Job) (time.Duration, error) {
	o, err := outcome.Of(ctx, e.store, target(j))
	if err != nil {
		return 0, fmt.Errorf("outcome: %w", err)
	}
	if o != store.OutcomeNone {
		return 0, nil // done before, e.g. sent before a crash, or acked since
	}
	p, err := e.push(ctx, j.PushID)
	if err != nil {
		return 0, fmt.Errorf("load push: %w", err)
	}
	if expired(p, e.cfg.Now()) {
		return 0, e.record(ctx, j, store.OutcomeExpired, store.Counts{})
	}
	sender, err := e.senders.Sender(ctx, j.AppID, j.Vendor)
	if errors.Is(err, relay.ErrBadCredentials) || errors.Is(err, store.ErrNotFound) {
		e.log.WarnContext(ctx, "no usable vendor credential", "app_id", j.AppID, "vendor", j.Vendor, "error", err)
		return 0, e.record(ctx, j, store.OutcomeRelayFailed, store.Counts{})
	}
	if err != nil {
		return 0, fmt.Errorf("sender: %w", err)
	}
	m, err := e.message(ctx, p, j)
	if err != nil {
		return 0, err
	}
	release := e.acquire(ctx, j.AppID+"/"+j.Vendor)
	start := time.Now()
	_, err = sender.Send(ctx, m)
	release()
	e.m.sendS.WithLabelValues(j.Vendor).Observe(time.Since(start).Seconds())
	return e.result(ctx, msg, j, err)
}

// result records what the vendor said, or reschedules the job.
func (e *Engine) result(ctx context.Context, msg jetstream.Msg, j relayq.Job, err error) (time.Duration, error) {
	after, retry := relay.IsRetryable(err)
	switch {
	case err == nil:
		e.m.sends.WithLabelValues(j.Vendor, "ok").Inc()
		return 0, e.record(ctx, j, store.OutcomeRelayed, store.Counts{})
	case relay.IsDeadToken(err):
		e.m.sends.WithLabelValues(j.Vendor, "dead_token").Inc()
		if err := e.dropToken(ctx, j); err != nil {
			return 0, err
		}
		return 0, e.record(ctx, j, store.OutcomeRelayFailed, store.Counts{DeadTokens: 1})
	case retry:
		e.m.sends.WithLabelValues(j.Vendor, "retry").Inc()
		n := attempts(msg)
		if n >= e.cfg.MaxAttempts {
			return 0, e.record(ctx, j, store.OutcomeRelayFailed, store.Counts{})
		}
		return max(after, e.backoff(n)), nil
	case errors.Is(err, relay.ErrExpired):
		e.m.sends.WithLabelValues(j.Vendor, "expired").Inc()
		return 0, e.record(ctx, j, store.OutcomeExpired, store.Counts{})
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return 0, err
	default:
		e.m.sends.WithLabelValues(j.Vendor, "failed").Inc()
		e.log.WarnContext(ctx, "vendor refused push", "vendor", j.Vendor, "push_id", j.PushID, "error", err)
		return 0, e.record(ctx, j, store.OutcomeRelayFailed, store.Counts{})
	}
}

// dropToken removes a dead vendor token from the device, if it is still
// the one the job used. The store checks the token on the device as it
// writes, so a token the device renewed meanwhile is never removed, and a
// change another writer made meanwhile is kept.
func (e *Engine) dropToken(ctx context.Context, j relayq.Job) error {
	removed := false
	_, err := e.store.UpdateDevice(ctx, j.DeviceID, func(d *store.Device) bool {
		removed = j.Token != "" && d.Tokens[j.Vendor] == j.Token
		if removed {
			delete(d.Tokens, j.Vendor)
			if len(d.Tokens) == 0 {
				d.Tokens = nil
			}
		}
		return removed
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // the device was deleted
	}
	if err != nil {
		return fmt.Errorf("remove dead token: %w", err)
	}
	if removed {
		e.log.InfoContext(ctx, "removed dead vendor token", "device_id", j.DeviceID, "vendor", j.Vendor)
	}
	return nil
}

// message builds the vendor message in the app's payload mode.
func (e *Engine) message(ctx context.Context, p *store.Push, j relayq.Job) (*relay.Message, error) {
	app, err := e.store.AppByID(ctx, j.AppID)
	if err != nil {
		return nil, fmt.Errorf("load app: %w", err)
	}
	m := &relay.Message{PushID: p.ID, DeviceID: j.DeviceID, Token: j.Token, ExpiresAt: p.ExpiresAt, HighPriority: true}
	ids := map[string]string{DataPushID: p.ID}
	if j.Seq > 0 {
		ids[DataSeq] = strconv.FormatUint(j.Seq, 10)
	}
	switch app.Settings.PayloadMode {
	case store.PayloadWakeup:
		m.Background, m.HighPriority, m.Data = true, false, ids
	case store.PayloadEncrypted:
		sealed, err := e.seal(ctx, p, j)
		if err != nil {
			return nil, err
		}
		ids[DataSealed] = sealed
		m.Background, m.Data = true, ids
	default:
		m.Title, m.Body = p.Notification.Title, p.Notification.Body
		m.Data = maps.Clone(p.Notification.Data)
		if m.Data == nil {
			m.Data = map[string]string{}
		}
		maps.Copy(m.Data, ids)
	}
	return m, nil
}

// seal encrypts the notification with the device's key.
func (e *Engine) seal(ctx context.Context, p *store.Push, j relayq.Job) (string, error) {
	devs, err := e.store.Devices(ctx, []string{j.DeviceID})
	if err != nil {
		return "", fmt.Errorf("load device: %w", err)
	}
	if devs[0] == nil {
		return "", fmt.Errorf("device %s gone", j.DeviceID)
	}
	plain, err := json.Marshal(struct {
		PushID string            `json:"push_id"`
		Seq    uint64            `json:"seq,omitempty"`
		Title  string            `json:"title,omitempty"`
		Body   string            `json:"body,omitempty"`
		Data   map[string]string `json:"data,omitempty"`
	}{p.ID, j.Seq, p.Notification.Title, p.Notification.Body, p.Notification.Data})
	if err != nil {
		return "", err
	}
	return sdkproto.SealVendorPayload(devs[0].Secret, plain)
}

// acquire takes a slot of the credential's concurrency bound.
func (e *Engine) acquire(ctx context.Context, key string) func() {
	e.mu.Lock()
	sem := e.sems[key]
	if sem == nil {
		sem = make(chan struct{}, e.cfg.PerCredential)
		e.sems[key] = sem
	}
	e.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }
	case <-ctx.Done():
		return func() {}
	}
}
