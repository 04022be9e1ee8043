package route

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

// BroadcastPath is the internal endpoint of a connector that writes an app
// broadcast to its sessions.
const BroadcastPath = "/internal/v1/broadcast"

// Broadcast is one message of an app's broadcast stream, already appended.
type Broadcast struct {
	AppID   string        `json:"app_id"`
	Message store.Message `json:"message"` // Seq set
	Epoch   uint64        `json:"epoch"`
}

// BroadcastResult says what one connector did with a broadcast.
type BroadcastResult struct {
	Sessions int `json:"sessions"` // live sessions of the app
	Written  int `json:"written"`  // of them, those it was queued for
}

// Broadcaster is what a connector offers for broadcasts.
type Broadcaster interface {
	Broadcast(ctx context.Context, b Broadcast) (BroadcastResult, error)
}

// Broadcast posts b to the connector whose internal API is at baseURL.
func (c *Client) Broadcast(ctx context.Context, baseURL string, b Broadcast) (BroadcastResult, error) {
	var res BroadcastResult
	err := c.post(ctx, baseURL, BroadcastPath, "broadcast", &b, &res)
	return res, err
}

// post sends in as JSON to path of the connector at baseURL and decodes
// its answer, of at most 4 KB, into out. what names the call in errors.
func (c *Client) post(ctx context.Context, baseURL, path, what string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s at %s: %w", what, baseURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s at %s: %w: %w", what, baseURL, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s at %s: %w: %d %s", what, baseURL, ErrRemote, resp.StatusCode, msg)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(out); err != nil {
		return fmt.Errorf("%s at %s: decode result: %w", what, baseURL, err)
	}
	return nil
}

// BroadcastHandler serves BroadcastPath for a local connector.
func BroadcastHandler(b Broadcaster, token string, log *slog.Logger) http.Handler {
	return httpx.Handle(log, nil, func(w http.ResponseWriter, r *http.Request) error {
		if err := checkToken(r, token); err != nil {
			return err
		}
		var in Broadcast
		if err := httpx.DecodeJSON(r, maxBatchBody, &in); err != nil {
			return err
		}
		res, err := b.Broadcast(r.Context(), in)
		if err != nil {
			return fmt.Errorf("broadcast: %w", err)
		}
		return httpx.WriteJSON(w, http.StatusOK, &res)
	})
}
