package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

type pushOptions struct {
	// TTLSeconds is how long the push may wait for its devices, from its
	// send time.
	TTLSeconds *int64 `json:"ttl_seconds"`
	// SendAt schedules the push: an RFC 3339 time. Absent, null or not in
	// the future: the push is routed at once.
	SendAt *string `json:"send_at"`
	// RatePerSecond paces a push to tags: at most this many devices a
	// second. Absent or null: as fast as routing goes.
	RatePerSecond *int `json:"rate_per_second"`
}

type pushRequest struct {
	Audience     store.Audience     `json:"audience"`
	Notification store.Notification `json:"notification"`
	Options      pushOptions        `json:"options"`
}

type pushAccepted struct {
	PushID string `json:"push_id"`
}

type pushView struct {
	PushID       string             `json:"push_id"`
	State        string             `json:"state"`
	CreatedAt    time.Time          `json:"created_at"`
	ExpiresAt    time.Time          `json:"expires_at,omitzero"`
	SendAt       time.Time          `json:"send_at,omitzero"`
	Notification store.Notification `json:"notification"`
	Audience     store.Audience     `json:"audience"`
	Counts       store.Counts       `json:"counts"`
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

func (g *Gateway) createPush(w http.ResponseWriter, r *http.Request) error {
	app, err := g.authApp(r)
	if err != nil {
		return err
	}
	if err := g.limitPushes(app); err != nil {
		return err
	}
	idem := r.Header.Get("Idempotency-Key")
	if len(idem) > maxIdempotencyKey {
		return httpx.Errorf(http.StatusBadRequest, "bad-idempotency-key", "Bad Idempotency-Key", "at most 255 bytes")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.cfg.MaxBodyBytes))
	if err != nil {
		return httpx.Errorf(http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large",
			fmt.Sprintf("the body exceeds %d bytes", g.cfg.MaxBodyBytes))
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req pushRequest
	if err := httpx.DecodeJSON(r, g.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	now := g.now().UTC()
	ttl, sendAt, err := g.validatePush(&req, now)
	if err != nil {
		return err
	}
	targets, err := g.resolveTargets(r, app.ID, req.Audience)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	p := &store.Push{
		ID: ids.At(now), AppID: app.ID, Notification: req.Notification, Audience: req.Audience,
		Targets: targets, CreatedAt: now, ExpiresAt: now.Add(ttl),
		Fingerprint: hex.EncodeToString(sum[:]), State: store.PushPending,
	}
	if !sendAt.IsZero() {
		p.State, p.SendAt, p.ExpiresAt = store.PushScheduled, sendAt, sendAt.Add(ttl)
	}
	if n := req.Options.RatePerSecond; n != nil {
		if len(req.Audience.Tags) == 0 {
			return errInvalid("invalid-rate", "Invalid rate", "rate_per_second paces pushes to tags only")
		}
		if *n < 1 || *n > maxTagRate {
			return errInvalid("invalid-rate", "Invalid rate", fmt.Sprintf("rate_per_second must be 1 to %d", maxTagRate))
		}
		p.Rate = *n
	}
	return g.accept(w, r, app, p, idem)
}

// accept stores p and answers 202; routing follows in the background, or
// at its send time when p is scheduled.
func (g *Gateway) accept(w http.ResponseWriter, r *http.Request, app *store.App, p *store.Push, idem string) error {
	scheduled := p.State == store.PushScheduled
	paged := p.Audience.Broadcast || len(p.Audience.Tags) > 0
	if d, ok := g.store.(store.DeferredPushes); ok && !paged && !scheduled {
		return g.acceptDeferred(w, r, d, app, p, idem)
	}
	id, err := g.store.CreatePush(r.Context(), p, idem)
	if err != nil {
		return fmt.Errorf("store push: %w", err)
	}
	if id != p.ID {
		return g.replay(w, r, id, p)
	}
	g.m.accepted.Inc()
	if scheduled {
		g.m.scheduled.Inc()
		return httpx.WriteJSON(w, http.StatusAccepted, pushAccepted{PushID: p.ID})
	}
	if !g.enqueue(routeJob{id: p.ID, push: p, settings: &app.Settings}) {
		// The queue is full: the push stays pending and the next sweep
		// routes it; accepted still means stored.
		g.log.WarnContext(r.Context(), "routing queue full", "push_id", p.ID)
	}
	return httpx.WriteJSON(w, http.StatusAccepted, pushAccepted{PushID: p.ID})
}

// maxSyncWait bounds how long an accepted push waits for its first
// delivery to make it durable before the gateway syncs it itself.
const maxSyncWait = 50 * time.Millisecond

// acceptDeferred stores p without an fsync of its own, hands it to the
// routing workers, and answers 202 once it is durable. The store is the
// one the connectors append to, so the synced append of the push's first
// delivery carries the push record to disk with it; if none does (the
// devices are on another node, the queue is full, routing is slow),
// SyncSince syncs. Until then no device has the push, so a crash loses only
// a push that was never acknowledged to the caller.
func (g *Gateway) acceptDeferred(w http.ResponseWriter, r *http.Request, d store.DeferredPushes, app *store.App, p *store.Push, idem string) error {
	ctx := r.Context()
	id, mark, err := d.CreatePushDeferred(ctx, p, idem)
	if err != nil {
		return fmt.Errorf("store push: %w", err)
	}
	if id != p.ID {
		// The first request with this key may still be waiting for its sync.
		if err := d.SyncSince(ctx, mark); err != nil {
			return fmt.Errorf("sync push: %w", err)
		}
		return g.replay(w, r, id, p)
	}
	g.m.accepted.Inc()
	delivered := make(chan struct{})
	job := routeJob{id: p.ID, push: p, settings: &app.Settings, delivered: func() { close(delivered) }}
	if g.enqueue(job) {
		t := time.NewTimer(maxSyncWait)
		select {
		case <-delivered:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	} else {
		g.log.WarnContext(ctx, "routing queue full", "push_id", p.ID)
	}
	if err := d.SyncSince(context.WithoutCancel(ctx), mark); err != nil {
		return fmt.Errorf("sync push: %w", err)
	}
	return httpx.WriteJSON(w, http.StatusAccepted, pushAccepted{PushID: p.ID})
}

// replay answers a request whose idempotency key named the earlier push id.
func (g *Gateway) replay(w http.ResponseWriter, r *http.Request, id string, p *store.Push) error {
	prior, err := g.store.Push(r.Context(), id)
	if err != nil {
		return fmt.Errorf("load idempotent push: %w", err)
	}
	if prior.Fingerprint != p.Fingerprint {
		return errInvalid("idempotency-key-reused", "Idempotency-Key reused",
			"this key was used for a different request")
	}
	w.Header().Set("Idempotent-Replayed", "true")
	return httpx.WriteJSON(w, http.StatusAccepted, pushAccepted{PushID: id})
}

// validatePush checks the notification and the options, and returns the
// push's time to live and its send time (zero: at once).
func (g *Gateway) validatePush(req *pushRequest, now time.Time) (time.Duration, time.Time, error) {
	n := req.Notification
	if n.Title == "" && n.Body == "" && len(n.Data) == 0 {
		return 0, time.Time{}, errInvalid("empty-notification", "Empty notification", "give a title, a body or data")
	}
	enc, err := json.Marshal(&n)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("encode notification: %w", err)
	}
	if len(enc) > g.cfg.MaxNotificationBytes {
		return 0, time.Time{}, httpx.Errorf(http.StatusRequestEntityTooLarge, "notification-too-large", "Notification too large",
			fmt.Sprintf("the notification is %d bytes encoded; the limit is %d", len(enc), g.cfg.MaxNotificationBytes))
	}
	ttl := g.cfg.DefaultTTL
	if t := req.Options.TTLSeconds; t != nil {
		if *t <= 0 || *t > int64(g.cfg.MaxTTL/time.Second) {
			return 0, time.Time{}, errInvalid("invalid-ttl", "Invalid TTL", fmt.Sprintf("ttl_seconds must be 1 to %d", int64(g.cfg.MaxTTL/time.Second)))
		}
		ttl = time.Duration(*t) * time.Second
	}
	sendAt, err := g.sendTime(req.Options.SendAt, now)
	return ttl, sendAt, err
}

// sendTime parses options.send_at: zero when it is absent or not after
// now (the push goes at once), the time in UTC, rounded up to the
// millisecond, when it is ahead by at most gateway.max_schedule_ahead.
func (g *Gateway) sendTime(raw *string, now time.Time) (time.Time, error) {
	if raw == nil {
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339Nano, *raw)
	if err != nil {
		return time.Time{}, errInvalid("invalid-send-at", "Invalid send time",
			"send_at must be an RFC 3339 time with a zone, such as 2026-12-24T18:00:00Z")
	}
	if !at.After(now) {
		return time.Time{}, nil
	}
	if at.Sub(now) > g.cfg.MaxScheduleAhead {
		return time.Time{}, errInvalid("invalid-send-at", "Invalid send time",
			fmt.Sprintf("send_at may be at most %s ahead", g.cfg.MaxScheduleAhead))
	}
	// Kept to the millisecond, as MongoDB keeps dates, and rounded up, so
	// that no store finds the push due before the time asked.
	if r := at.Truncate(time.Millisecond); !r.Equal(at) {
		at = r.Add(time.Millisecond)
	}
	return at.UTC(), nil
}

// resolveTargets turns the audience into device ids, checking that every
// device exists and belongs to the app.
func (g *Gateway) resolveTargets(r *http.Request, appID string, a store.Audience) ([]string, error) {
	if a.Broadcast {
		if len(a.DeviceIDs) > 0 || len(a.Aliases) > 0 || len(a.Tags) > 0 {
			return nil, errInvalid("invalid-audience", "Invalid audience", "broadcast excludes device_ids, aliases and tags")
		}
		return nil, nil
	}
	if len(a.Tags) > 0 {
		return nil, g.checkTags(r.Context(), a)
	}
	if len(a.DeviceIDs) == 0 && len(a.Aliases) == 0 {
		return nil, errInvalid("empty-audience", "Empty audience", "give device_ids, aliases, tags or broadcast")
	}
	if len(a.DeviceIDs)+len(a.Aliases) > g.cfg.MaxTargets {
		return nil, g.tooMany(len(a.DeviceIDs) + len(a.Aliases))
	}
	targets, err := g.checkDevices(r, appID, a.DeviceIDs)
	if err != nil {
		return nil, err
	}
	if len(a.Aliases) > 0 {
		byAlias, err := g.store.DeviceIDsByAlias(r.Context(), appID, a.Aliases)
		if err != nil {
			return nil, fmt.Errorf("resolve aliases: %w", err)
		}
		targets = append(targets, byAlias...)
	}
	targets = unique(targets)
	if len(targets) > g.cfg.MaxTargets {
		return nil, g.tooMany(len(targets))
	}
	return targets, nil
}

// maxAudienceTags bounds the tags of one push's audience.
const maxAudienceTags = 10

// checkTags checks an audience of tags: alone, at most maxAudienceTags,
// each as a device's tag may be, and a store that lists devices by tag.
// Its devices are listed when the push is routed.
func (g *Gateway) checkTags(ctx context.Context, a store.Audience) error {
	if len(a.DeviceIDs) > 0 || len(a.Aliases) > 0 {
		return errInvalid("invalid-audience", "Invalid audience", "tags exclude device_ids and aliases")
	}
	if len(a.Tags) > maxAudienceTags {
		return errInvalid("invalid-audience", "Invalid audience", fmt.Sprintf("at most %d tags", maxAudienceTags))
	}
	for _, t := range a.Tags {
		if t == "" || len(t) > maxTagLen {
			return errInvalid("invalid-audience", "Invalid audience", fmt.Sprintf("a tag is 1 to %d bytes", maxTagLen))
		}
	}
	ti, ok := g.store.(store.TagIndex)
	if ok {
		_, err := ti.DeviceIDsByTags(ctx, "", nil, "", 0)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrUnsupported) {
			return fmt.Errorf("check tag index: %w", err)
		}
	}
	return httpx.Errorf(http.StatusNotImplemented, "tags-unsupported", "Tags not supported",
		"this deployment's device store cannot list devices by tag")
}

func (g *Gateway) tooMany(n int) error {
	return errInvalid("audience-too-large", "Audience too large",
		fmt.Sprintf("%d targets; one push reaches at most %d devices", n, g.cfg.MaxTargets))
}

func (g *Gateway) checkDevices(r *http.Request, appID string, idList []string) ([]string, error) {
	if len(idList) == 0 {
		return nil, nil
	}
	apps := make([]string, len(idList)) // "": not registered
	var missing []int
	for i, id := range idList {
		if a, ok := g.owners.get(id); ok {
			apps[i] = a
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		load := make([]string, len(missing))
		for k, i := range missing {
			load[k] = idList[i]
		}
		devs, err := g.store.Devices(r.Context(), load)
		if err != nil {
			return nil, fmt.Errorf("load devices: %w", err)
		}
		for k, d := range devs {
			if d != nil {
				apps[missing[k]] = d.AppID
				g.owners.put(load[k], d.AppID)
			}
		}
	}
	var unknown, foreign []string
	for i, a := range apps {
		switch {
		case a == "":
			unknown = append(unknown, idList[i])
		case a != appID:
			foreign = append(foreign, idList[i])
		}
	}
	if len(foreign) > 0 {
		e := httpx.Errorf(http.StatusForbidden, "foreign-device", "Device of another app",
			fmt.Sprintf("%d device(s) belong to another app", len(foreign)))
		e.Extra = map[string]any{"device_ids": foreign}
		return nil, e
	}
	if len(unknown) > 0 {
		e := errInvalid("unknown-device", "Unknown device", fmt.Sprintf("%d device(s) not registered", len(unknown)))
		e.Extra = map[string]any{"device_ids": unknown}
		return nil, e
	}
	return append([]string(nil), idList...), nil
}

func unique(list []string) []string {
	seen := make(map[string]struct{}, len(list))
	out := list[:0]
	for _, s := range list {
		if _, ok := seen[s]; !ok {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}

func (g *Gateway) getPush(w http.ResponseWriter, r *http.Request) error {
	app, err := g.authApp(r)
	if err != nil {
		return err
	}
	p, err := g.store.Push(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.AppID != app.ID) {
		return errNotFound("push")
	}
	if err != nil {
		return fmt.Errorf("load push: %w", err)
	}
	return httpx.WriteJSON(w, http.StatusOK, viewOfPush(p))
}

// viewOfPush is a push as the API shows it.
func viewOfPush(p *store.Push) pushView {
	c := p.Counts
	if !p.Audience.Broadcast && len(p.Audience.Tags) == 0 {
		// Tag and broadcast audiences count their targets when routed.
		c.Targeted = int64(len(p.Targets))
	}
	return pushView{
		PushID: p.ID, State: p.State, CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt, SendAt: p.SendAt,
		Notification: p.Notification, Audience: p.Audience, Counts: c,
	}
}
