package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
)

// Scheduler queues fallback checks for the relay.
type Scheduler interface {
	Schedule(ctx context.Context, jobs []relayq.Job) error
}

// AsyncScheduler is a Scheduler that can also queue checks without
// waiting: done runs once they are stored (relayq.Coalescer). Routing then
// goes on to the next push while the checks wait to share a message.
type AsyncScheduler interface {
	ScheduleAsync(jobs []relayq.Job, done func(error))
}

// CredentialSealer validates vendor credentials and seals them for
// storage.
type CredentialSealer interface {
	Check(vendor string, raw []byte) error
	Seal(appID, vendor string, raw []byte) []byte
}

// Relay connects the gateway to the vendor relay.
type Relay struct {
	Queue       Scheduler
	Credentials CredentialSealer
	// AckTimeout is the default time a live device has to acknowledge
	// before its push goes through the vendor. Default 10s.
	AckTimeout time.Duration
}

// Option configures a Gateway.
type Option func(*Gateway)

// WithRelay hands targets that are offline, unrouted or slow to
// acknowledge to the relay, and enables the credential admin API.
func WithRelay(r Relay) Option {
	return func(g *Gateway) {
		if r.AckTimeout <= 0 {
			r.AckTimeout = 10 * time.Second
		}
		g.relay = r
	}
}

// schedule queues one fallback check per target: at once for a device
// that was offline or could not be reached, after the ack timeout for one
// that was written to a live session. done runs once they are stored, on
// this goroutine or another.
// settings are the app's, when the caller has them; nil loads them.
func (g *Gateway) schedule(ctx context.Context, p *store.Push, settings *store.Settings, results []route.Result, done func(error)) {
	if g.relay.Queue == nil {
		done(nil)
		return
	}
	if settings == nil {
		if app, err := g.store.AppByID(ctx, p.AppID); err == nil {
			settings = &app.Settings
		}
	}
	ackTimeout := g.relay.AckTimeout
	if settings != nil && settings.AckTimeout > 0 {
		ackTimeout = settings.AckTimeout
	}
	now := time.Now()
	jobs := make([]relayq.Job, len(results))
	for i, r := range results {
		j := relayq.Job{PushID: p.ID, AppID: p.AppID, DeviceID: p.Targets[i], DueMs: now.UnixMilli()}
		switch r.Status {
		case route.Written:
			j.Seq, j.Epoch, j.DueMs = r.Seq, r.Epoch, now.Add(ackTimeout).UnixMilli()
		case route.Offline:
			j.Seq, j.Epoch = r.Seq, r.Epoch
		}
		jobs[i] = j
	}
	if q, ok := g.relay.Queue.(AsyncScheduler); ok {
		q.ScheduleAsync(jobs, done)
		return
	}
	done(g.relay.Queue.Schedule(ctx, jobs))
}

type settingsRequest struct {
	AckTimeoutSeconds *int   `json:"ack_timeout_seconds"`
	PayloadMode       string `json:"payload_mode"`
	PushRatePerSecond *int   `json:"push_rate_per_second"`
}

type settingsView struct {
	AckTimeoutSeconds int    `json:"ack_timeout_seconds"`
	PayloadMode       string `json:"payload_mode"`
	PushRatePerSecond int    `json:"push_rate_per_second"` // 0: no bound
}

// maxPushRate bounds push_rate_per_second.
const maxPushRate = 1_000_000

func (g *Gateway) viewSettings(s store.Settings) settingsView {
	v := settingsView{AckTimeoutSeconds: wholeSeconds(g.relay.AckTimeout), PayloadMode: store.PayloadFull, PushRatePerSecond: s.PushRate}
	if s.AckTimeout > 0 {
		v.AckTimeoutSeconds = wholeSeconds(s.AckTimeout)
	}
	if s.PayloadMode != "" {
		v.PayloadMode = s.PayloadMode
	}
	return v
}

// wholeSeconds shows an ack timeout in the API's unit, rounded up: a
// server default under a second (relay.ack_timeout is a duration) reads 1,
// not 0, which the API does not allow.
func wholeSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// settings checks a settings request and returns the settings it sets.
func (req *settingsRequest) settings() (store.Settings, error) {
	var s store.Settings
	if t := req.AckTimeoutSeconds; t != nil {
		if *t < 1 || *t > 3600 {
			return s, errInvalid("invalid-settings", "Invalid settings", "ack_timeout_seconds must be 1 to 3600")
		}
		s.AckTimeout = time.Duration(*t) * time.Second
	}
	switch req.PayloadMode {
	case "", store.PayloadFull, store.PayloadEncrypted, store.PayloadWakeup:
		s.PayloadMode = req.PayloadMode
	default:
		return s, errInvalid("invalid-settings", "Invalid settings", "payload_mode must be full, encrypted or wakeup")
	}
	if n := req.PushRatePerSecond; n != nil {
		if *n < 0 || *n > maxPushRate {
			return s, errInvalid("invalid-settings", "Invalid settings",
				fmt.Sprintf("push_rate_per_second must be 0 (no bound) to %d", maxPushRate))
		}
		s.PushRate = *n
	}
	return s, nil
}

func (g *Gateway) putSettings(w http.ResponseWriter, r *http.Request) error {
	if err := g.authAdmin(r); err != nil {
		return err
	}
	var req settingsRequest
	if err := httpx.DecodeJSON(r, g.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	s, err := req.settings()
	if err != nil {
		return err
	}
	err = g.store.UpdateSettings(r.Context(), r.PathValue("id"), s)
	g.apps.drop(r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("app")
	}
	if err != nil {
		return fmt.Errorf("update settings: %w", err)
	}
	return httpx.WriteJSON(w, http.StatusOK, g.viewSettings(s))
}

// maxCredentialBytes bounds an uploaded credential.
const maxCredentialBytes = 64 << 10

func (g *Gateway) credentialApp(r *http.Request) (*store.App, error) {
	if err := g.authAdmin(r); err != nil {
		return nil, err
	}
	if g.relay.Credentials == nil {
		return nil, errUnavailable("the relay is not enabled")
	}
	app, err := g.store.AppByID(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound("app")
	}
	if err != nil {
		return nil, fmt.Errorf("load app: %w", err)
	}
	return app, nil
}

// putCredential validates, seals and stores a vendor credential. It is
// never returned afterwards.
func (g *Gateway) putCredential(w http.ResponseWriter, r *http.Request) error {
	app, err := g.credentialApp(r)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCredentialBytes))
	if err != nil {
		return httpx.Errorf(http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large",
			fmt.Sprintf("a credential is at most %d bytes", maxCredentialBytes))
	}
	vendor := r.PathValue("vendor")
	if err := g.relay.Credentials.Check(vendor, raw); err != nil {
		return errInvalid("invalid-credential", "Invalid credential", err.Error())
	}
	sealed := g.relay.Credentials.Seal(app.ID, vendor, raw)
	if err := g.store.PutCredential(r.Context(), app.ID, vendor, sealed); err != nil {
		return fmt.Errorf("store credential: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (g *Gateway) listCredentials(w http.ResponseWriter, r *http.Request) error {
	app, err := g.credentialApp(r)
	if err != nil {
		return err
	}
	vendors, err := g.store.CredentialVendors(r.Context(), app.ID)
	if err != nil {
		return fmt.Errorf("list credentials: %w", err)
	}
	if vendors == nil {
		vendors = []string{}
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"vendors": vendors})
}

func (g *Gateway) deleteCredential(w http.ResponseWriter, r *http.Request) error {
	app, err := g.credentialApp(r)
	if err != nil {
		return err
	}
	if err := g.store.DeleteCredential(r.Context(), app.ID, r.PathValue("vendor")); err != nil {
		return fmt.Errorf("delete credential: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
