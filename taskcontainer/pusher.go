package taskcontainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

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
	API *httpx.AdminClient
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
	err = h.API.Call(ctx, http.MethodPost, "/v1/pushes", appID, key, b, &out)
	var pe *httpx.Error
	if errors.As(err, &pe) && pe.Slug == "unknown-device" {
		if ids := stringList(pe.Extra["device_ids"]); len(ids) > 0 {
			return "", &UnknownDevices{IDs: ids}
		}
	}
	return out.PushID, err
}

// stringList is a JSON array of strings decoded as []any.
func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Cancel deletes the push; 409 (already sent) and 404 are not errors.
func (h *HTTPPusher) Cancel(ctx context.Context, appID, pushID string) error {
	err := h.API.Call(ctx, http.MethodDelete, "/v1/pushes/"+url.PathEscape(pushID), appID, "", nil, nil)
	var pe *httpx.Error
	if errors.As(err, &pe) && (pe.Status == http.StatusConflict || pe.Status == http.StatusNotFound) {
		return nil
	}
	return err
}
