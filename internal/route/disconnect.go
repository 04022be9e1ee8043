package route

import (
	"context"
	"fmt"
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
	err := c.post(ctx, baseURL, DisconnectPath, "disconnect", &d, &res)
	return res, err
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
