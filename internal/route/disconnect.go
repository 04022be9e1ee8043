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
)

// DisconnectPath is the internal endpoint of a connector that ends the
// sessions of deleted devices.
const DisconnectPath = "/internal/v1/disconnect"

// maxDisconnectBody bounds a disconnect request body.
const maxDisconnectBody = 1 << 20

// Disconnect names devices that were deleted: a connector ends their live
// sessions and refuses the sessions their handshakes under way would start.
type Disconnect struct {
	DeviceIDs []string `json:"device_ids"`
}

// DisconnectResult says what one connector did.
type DisconnectResult struct {
	Closed int `json:"closed"` // live sessions it ended
}

// Disconnecter is what a connector offers for deleted devices.
type Disconnecter interface {
	Disconnect(ctx context.Context, d Disconnect) (DisconnectResult, error)
}

// Disconnect posts d to the connector whose internal API is at baseURL.
func (c *Client) Disconnect(ctx context.Context, baseURL string, d Disconnect) (DisconnectResult, error) {
	var res DisconnectResult
	body, err := json.Marshal(&d)
	if err != nil {
		return res, fmt.Errorf("encode disconnect: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+DisconnectPath, bytes.NewReader(body))
	if err != nil {
		return res, fmt.Errorf("disconnect at %s: %w", baseURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return res, fmt.Errorf("disconnect at %s: %w: %w", baseURL, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return res, fmt.Errorf("disconnect at %s: %w: %d %s", baseURL, ErrRemote, resp.StatusCode, msg)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&res); err != nil {
		return res, fmt.Errorf("disconnect at %s: decode result: %w", baseURL, err)
	}
	return res, nil
}

// DisconnectHandler serves DisconnectPath for a local connector.
func DisconnectHandler(d Disconnecter, token string, log *slog.Logger) http.Handler {
	return httpx.Handle(log, nil, func(w http.ResponseWriter, r *http.Request) error {
		if err := checkToken(r, token); err != nil {
			return err
		}
		var in Disconnect
		if err := httpx.DecodeJSON(r, maxDisconnectBody, &in); err != nil {
			return err
		}
		res, err := d.Disconnect(r.Context(), in)
		if err != nil {
			return fmt.Errorf("disconnect: %w", err)
		}
		return httpx.WriteJSON(w, http.StatusOK, &res)
	})
}
