package gateway

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

type deviceRequest struct {
	AppKey   string            `json:"app_key"`
	Platform string            `json:"platform"`
	Alias    string            `json:"alias"`
	Tags     []string          `json:"tags"`
	Tokens   map[string]string `json:"tokens"`
	Locale   string            `json:"locale"`
	TimeZone string            `json:"time_zone"`
}

type deviceResponse struct {
	DeviceID     string `json:"device_id"`
	DeviceSecret string `json:"device_secret"`
	AppID        string `json:"app_id"`
	// ConnectorURL is the WebSocket URL of the connector that owns the
	// new device on the ring now, so that its first connect needs no
	// dispatch request; absent while no connector is on the ring.
	ConnectorURL string `json:"connector_url,omitempty"`
}

// Limits on device fields.
const (
	maxAliasLen = 128
	maxTags     = 32
	maxTagLen   = 64
	maxTokenLen = 4096
)

func (g *Gateway) registerDevice(w http.ResponseWriter, r *http.Request) error {
	var req deviceRequest
	if err := httpx.DecodeJSON(r, g.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.AppKey == "" {
		return errBadAppKey()
	}
	app, err := g.apps.get(r.Context(), g.store, req.AppKey)
	if errors.Is(err, store.ErrNotFound) {
		return errBadAppKey()
	}
	if err != nil {
		return fmt.Errorf("load app: %w", err)
	}
	if err := validateDevice(&req); err != nil {
		return err
	}
	now := time.Now().UTC()
	secret := ids.Secret(32)
	d := &store.Device{
		ID: ids.New(), AppID: app.ID, Secret: secret, Platform: req.Platform, Alias: req.Alias,
		Tags: req.Tags, Tokens: req.Tokens, Locale: req.Locale, TimeZone: req.TimeZone,
		CreatedAt: now, LastSeen: now,
	}
	if err := g.store.PutDevice(r.Context(), d); err != nil {
		return fmt.Errorf("store device: %w", err)
	}
	out := deviceResponse{DeviceID: d.ID, DeviceSecret: base64.RawURLEncoding.EncodeToString(secret), AppID: app.ID}
	if g.ring != nil {
		if n, ok := g.ring.Ring().Owner(d.ID); ok {
			out.ConnectorURL = n.WSURL
		}
	}
	return httpx.WriteJSON(w, http.StatusCreated, out)
}

func validateDevice(req *deviceRequest) error {
	switch {
	case len(req.Alias) > maxAliasLen:
		return errInvalid("invalid-device", "Invalid device", fmt.Sprintf("alias longer than %d bytes", maxAliasLen))
	case len(req.Tags) > maxTags:
		return errInvalid("invalid-device", "Invalid device", fmt.Sprintf("more than %d tags", maxTags))
	case len(req.Platform) > 32 || len(req.Locale) > 35 || len(req.TimeZone) > 64:
		return errInvalid("invalid-device", "Invalid device", "platform, locale or time_zone too long")
	}
	for _, t := range req.Tags {
		if t == "" || len(t) > maxTagLen {
			return errInvalid("invalid-device", "Invalid device", fmt.Sprintf("tags must be 1 to %d bytes", maxTagLen))
		}
	}
	for v, t := range req.Tokens {
		if len(v) > 32 || len(t) > maxTokenLen {
			return errInvalid("invalid-device", "Invalid device", "vendor token too long")
		}
	}
	return nil
}
