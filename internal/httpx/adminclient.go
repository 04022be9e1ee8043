package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// AdminClient calls the REST API with the admin token, acting for an app
// when a call names one (AppHeader): how the portal and the campaign
// runner reach the gateway.
type AdminClient struct {
	Base  string // e.g. http://127.0.0.1:8080
	Token string
	HTTP  *http.Client // nil: http.DefaultClient
}

// maxAnswer bounds an answer the client reads.
const maxAnswer = 4 << 20

// Call sends body (JSON; nil for none) to the API path, for app (empty:
// none) and with idemKey as Idempotency-Key (empty: none), and decodes a
// 2xx answer into out (nil: the answer is dropped). A problem answer comes
// back as an *Error with its status, slug, title and detail, and its other
// members in Extra; any other failure is a plain error.
func (c *AdminClient) Call(ctx context.Context, method, path, app, idemKey string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("api request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if app != "" {
		req.Header.Set(AppHeader, app)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("api %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("api %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return answeredProblem(method, path, resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("api %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// answeredProblem turns a problem document into an *Error, or anything
// else with that status into a plain error.
func answeredProblem(method, path string, status int, raw []byte) error {
	var doc map[string]any
	json.Unmarshal(raw, &doc) //nolint:errcheck // no document: no type, a plain error
	typ, _ := doc["type"].(string)
	if !strings.HasPrefix(typ, ProblemBase) {
		return fmt.Errorf("api %s %s answered %d", method, path, status)
	}
	title, _ := doc["title"].(string)
	detail, _ := doc["detail"].(string)
	e := Errorf(status, strings.TrimPrefix(typ, ProblemBase), title, detail)
	for _, k := range []string{"type", "title", "detail", "status"} {
		delete(doc, k)
	}
	if len(doc) > 0 {
		e.Extra = doc
	}
	return e
}
