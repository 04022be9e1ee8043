package taskcontainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// appHeader names the app a request with the admin token acts for (the
// gateway's gateway.AppHeader).
const appHeader = "Mopush-App"

// Page is one push of a campaign's page: its devices, and when to send it
// (zero: now).
type Page struct {
	DeviceIDs    []string
	Notification store.Notification
	SendAt       time.Time
}

// Pusher sends a campaign's pages as pushes.
type Pusher interface {
	// Push creates a push to the page's devices for the app and returns its
	// id. The same key sends nothing twice. Devices the push API does not
	// know (deleted since they were listed) come back as *UnknownDevices.
	Push(ctx context.Context, appID string, p Page, key string) (string, error)
	// Cancel cancels a scheduled push; one already sent is left alone.
	Cancel(ctx context.Context, appID, pushID string) error
}

// UnknownDevices is the push API's refusal of devices it does not know.
type UnknownDevices struct{ IDs []string }

func (e *UnknownDevices) Error() string {
	return fmt.Sprintf("taskcontainer: %d unknown device(s)", len(e.IDs))
}

// HTTPPusher is the Pusher of the gateway's REST API, with the admin token.
type HTTPPusher struct {
	Base   string // e.g. http://127.0.0.1:8080
	Token  string
	Client *http.Client
}

var _ Pusher = (*HTTPPusher)(nil)

type pushBody struct {
	Audience     store.Audience     `json:"audience"`
	Notification store.Notification `json:"notification"`
	Options      map[string]any     `json:"options,omitempty"`
}

// Push posts the page to POST /v1/pushes with the key as Idempotency-Key.
func (h *HTTPPusher) Push(ctx context.Context, appID string, p Page, key string) (string, error) {
	body := pushBody{Audience: store.Audience{DeviceIDs: p.DeviceIDs}, Notification: p.Notification}
	if !p.SendAt.IsZero() {
		body.Options = map[string]any{"send_at": p.SendAt.UTC().Format(time.RFC3339Nano)}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("encode page: %w", err)
	}
	var out struct {
		PushID string `json:"push_id"`
	}
	err = h.call(ctx, http.MethodPost, "/v1/pushes", appID, key, b, &out)
	return out.PushID, err
}

// Cancel deletes the push; 409 (already sent) and 404 are not errors.
func (h *HTTPPusher) Cancel(ctx context.Context, appID, pushID string) error {
	err := h.call(ctx, http.MethodDelete, "/v1/pushes/"+url.PathEscape(pushID), appID, "", nil, nil)
	var pe *problemError
	if errors.As(err, &pe) && (pe.Status == http.StatusConflict || pe.Status == http.StatusNotFound) {
		return nil
	}
	return err
}

// problemError is a problem document the push API answered.
type problemError struct {
	Status    int      `json:"status"`
	Type      string   `json:"type"`
	Detail    string   `json:"detail"`
	DeviceIDs []string `json:"device_ids"`
}

func (e *problemError) Error() string {
	return fmt.Sprintf("push api: %d %s: %s", e.Status, e.Type, e.Detail)
}

func (h *HTTPPusher) call(ctx context.Context, method, path, appID, key string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(h.Base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("push api request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+h.Token)
	req.Header.Set(appHeader, appID)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("push api: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("push api: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		pe := &problemError{Status: resp.StatusCode}
		json.Unmarshal(raw, pe) //nolint:errcheck // the status alone is the error then
		pe.Status = resp.StatusCode
		if strings.HasSuffix(pe.Type, "/unknown-device") && len(pe.DeviceIDs) > 0 {
			return &UnknownDevices{IDs: pe.DeviceIDs}
		}
		return pe
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("push api answer: %w", err)
		}
	}
	return nil
}
