package route

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/mopush/mopush/internal/httpx"
)

// Path is the internal endpoint of a connector that takes batches.
const Path = "/internal/v1/deliver"

// maxBatchBody bounds a batch request body.
const maxBatchBody = 8 << 20

// ErrRemote means the connector answered with an error status.
var ErrRemote = errors.New("route: connector refused the batch")

// ErrUnreachable means no answer came from the connector: it could not be
// dialled, or the connection failed or timed out before the answer. The
// batch may or may not have been appended.
var ErrUnreachable = errors.New("route: connector unreachable")

type wireResult struct {
	Status string `json:"status"`
	Epoch  uint64 `json:"epoch,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
}

type wireResults struct {
	Results []wireResult `json:"results"`
}

// Client delivers batches to connectors over HTTP/2.
type Client struct {
	HTTP *http.Client
	// Token is the shared internal token sent as a Bearer credential.
	Token string
}

// Deliver posts b to the connector whose internal API is at baseURL.
func (c *Client) Deliver(ctx context.Context, baseURL string, b Batch) ([]Result, error) {
	body, err := json.Marshal(&b)
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+Path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("deliver to %s: %w", baseURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil { // the caller gave up: that says nothing of the connector
			return nil, fmt.Errorf("deliver to %s: %w", baseURL, err)
		}
		return nil, fmt.Errorf("deliver to %s: %w: %w", baseURL, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("deliver to %s: %w: %d %s", baseURL, ErrRemote, resp.StatusCode, msg)
	}
	var wr wireResults
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBatchBody)).Decode(&wr); err != nil {
		return nil, fmt.Errorf("deliver to %s: decode results: %w", baseURL, err)
	}
	if len(wr.Results) != len(b.DeviceIDs) {
		return nil, fmt.Errorf("deliver to %s: %w: %d results for %d devices", baseURL, ErrRemote, len(wr.Results), len(b.DeviceIDs))
	}
	return fromWire(wr.Results), nil
}

func fromWire(ws []wireResult) []Result {
	out := make([]Result, len(ws))
	for i, w := range ws {
		out[i] = Result{Status: parseStatus(w.Status), Epoch: w.Epoch, Seq: w.Seq}
	}
	return out
}

func parseStatus(s string) Status {
	for i, n := range statusNames {
		if n == s && n != "" {
			return Status(i)
		}
	}
	return Failed
}

// Handler serves Path for a local connector; callers must present token.
func Handler(l Local, token string, log *slog.Logger) http.Handler {
	return httpx.Handle(log, nil, func(w http.ResponseWriter, r *http.Request) error {
		if err := checkToken(r, token); err != nil {
			return err
		}
		var b Batch
		if err := httpx.DecodeJSON(r, maxBatchBody, &b); err != nil {
			return err
		}
		res, err := l.Deliver(r.Context(), b)
		if err != nil {
			return fmt.Errorf("deliver batch: %w", err)
		}
		out := wireResults{Results: make([]wireResult, len(res))}
		for i, x := range res {
			out.Results[i] = wireResult{Status: x.Status.String(), Epoch: x.Epoch, Seq: x.Seq}
		}
		return httpx.WriteJSON(w, http.StatusOK, &out)
	})
}

func checkToken(r *http.Request, token string) error {
	got, _ := httpx.BearerToken(r)
	if token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		return httpx.Errorf(http.StatusUnauthorized, "unauthorized", "Unauthorized", "internal token required")
	}
	return nil
}

var _ interface {
	Deliver(context.Context, string, Batch) ([]Result, error)
} = (*Client)(nil)
