package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// api is the parent's REST client: app creation and pushes.
type api struct {
	hc          *http.Client
	base        string
	key, secret string
}

// newHTTPClient returns a client keeping up to conns connections to the
// server, from 127.0.0.1.
func newHTTPClient(conns int) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     60 * time.Second,
	}}
}

// createApp creates the app the devices of a run register with.
func createApp(ctx context.Context, hc *http.Client, base, adminToken, name string) (api, error) {
	body, _ := json.Marshal(map[string]string{"name": name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/apps", bytes.NewReader(body))
	if err != nil {
		return api{}, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	var out struct {
		AppKey       string `json:"app_key"`
		MasterSecret string `json:"master_secret"`
	}
	status, raw, err := do(hc, req, &out)
	if err != nil {
		return api{}, fmt.Errorf("create app: %w", err)
	}
	if status != http.StatusCreated {
		return api{}, fmt.Errorf("create app: %d %s", status, bytes.TrimSpace(raw))
	}
	return api{hc: hc, base: base, key: out.AppKey, secret: out.MasterSecret}, nil
}

// pushBody is a push request; the notification's data.t is the send time
// in Unix nanoseconds.
type pushBody struct {
	Audience     audience     `json:"audience"`
	Notification notification `json:"notification"`
}

type audience struct {
	DeviceIDs []string `json:"device_ids,omitempty"`
	Broadcast bool     `json:"broadcast,omitempty"`
}

type notification struct {
	Title string            `json:"title"`
	Data  map[string]string `json:"data"`
}

// pushError is a push the server did not accept.
type pushError struct {
	Status int
	Body   string
}

func (e *pushError) Error() string { return fmt.Sprintf("push refused: %d %s", e.Status, e.Body) }

// push sends one push stamped with the current time; nil means 202.
func (a api) push(ctx context.Context, aud audience) error {
	b, err := json.Marshal(pushBody{Audience: aud, Notification: notification{
		Title: "bench", Data: map[string]string{"t": strconv.FormatInt(time.Now().UnixNano(), 10)},
	}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/v1/pushes", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.SetBasicAuth(a.key, a.secret)
	req.Header.Set("Content-Type", "application/json")
	status, raw, err := do(a.hc, req, nil)
	if err != nil {
		return err
	}
	if status != http.StatusAccepted {
		return &pushError{Status: status, Body: string(bytes.TrimSpace(raw))}
	}
	return nil
}

// do runs a request and decodes a JSON answer into out when given.
func do(hc *http.Client, req *http.Request, out any) (int, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, raw, fmt.Errorf("decode answer: %w", err)
		}
	}
	return resp.StatusCode, raw, nil
}
