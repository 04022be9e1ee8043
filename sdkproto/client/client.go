package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/mopush/mopush/sdkproto/pb"
)

// State is what a device must keep across restarts.
type State struct {
	DeviceID string `json:"device_id"`
	Secret   []byte `json:"secret"`
	AppID    string `json:"app_id,omitempty"`
	// Epoch and LastSeq are the stream position of the last push handed to
	// the application.
	Epoch   uint64 `json:"epoch"`
	LastSeq uint64 `json:"last_seq"`
	// BroadcastEpoch and BroadcastSeq are the position in the app's
	// broadcast stream.
	BroadcastEpoch uint64 `json:"broadcast_epoch,omitempty"`
	BroadcastSeq   uint64 `json:"broadcast_seq,omitempty"`
	// Connector is the URL of the connector that welcomed the last
	// session. The next session dials it first, naming the device, and
	// asks the dispatcher only if it refuses. Empty after a session that
	// was moved or that failed.
	Connector string `json:"connector,omitempty"`
}

// position returns the epoch and last seq of the device's stream, or of
// the broadcast stream.
func (s *State) position(broadcast bool) (epoch, seq *uint64) {
	if broadcast {
		return &s.BroadcastEpoch, &s.BroadcastSeq
	}
	return &s.Epoch, &s.LastSeq
}

// Push is one notification handed to the application.
type Push struct {
	ID        string
	Seq       uint64
	Title     string
	Body      string
	Data      map[string]string
	SentAt    time.Time
	ExpiresAt time.Time // zero: none
	// Broadcast is true for an app-wide push.
	Broadcast bool
}

// Config configures a Client. Zero values mean the defaults given.
type Config struct {
	// Server is the base URL of the mopush API, e.g. http://127.0.0.1:8080.
	Server string
	// AppKey is the app's public key, used to register.
	AppKey string
	// HTTP is used for registration and dispatch. Default: a client with a
	// 10s timeout.
	HTTP *http.Client
	// SDK names the SDK and version in the handshake. Default "mopush-go/1".
	SDK string
	// MinBackoff and MaxBackoff bound the reconnect delay. Defaults 500ms
	// and 30s.
	MinBackoff, MaxBackoff time.Duration
	// HandshakeTimeout bounds dialing and the handshake, and the dispatch
	// request when HTTP has no timeout of its own. Default 10s.
	HandshakeTimeout time.Duration
	// DedupWindow is how many recent push ids are remembered to drop
	// duplicates. Default 4096.
	DedupWindow int
	// NetDialContext, if set, opens the TCP connections of the WebSocket
	// (e.g. to pick a source address); default: a net.Dialer without
	// kernel keepalive probes, which the session's heartbeat makes
	// needless.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// OnPush receives each push once, in stream order. Required.
	OnPush func(Push)
	// OnState, if set, is called with the new state after each change that
	// must be persisted (registration, each acknowledged push, the
	// connector to dial first).
	OnState func(State)
	// OnEvent, if set, receives connection events.
	OnEvent func(Event)
	Logger  *slog.Logger
}

// EventKind names a connection event.
type EventKind string

// Connection events.
const (
	EventReady        EventKind = "ready"        // handshake done, replay follows
	EventSynced       EventKind = "synced"       // initial replay done
	EventDisconnected EventKind = "disconnected" // the session ended; a reconnect follows
	EventRedirected   EventKind = "redirected"   // the server asked to move
)

// Event is a connection event.
type Event struct {
	Kind      EventKind
	DeviceID  string
	Recovered bool  // EventSynced: false when messages may have been lost
	Err       error // EventDisconnected: why
}

// Client is one device.
type Client struct {
	cfg Config
	log *slog.Logger

	mu           sync.Mutex
	state        State
	seen         *dedup
	ownRecovered bool  // the device stream's part of the initial replay
	cur          *conn // the live session, nil between sessions
}

// ErrNotConnected means there is no live session to send on.
var ErrNotConnected = errors.New("client: not connected")

// Report sends a report frame on the live session: kind "device_info"
// with fields such as "locale", "time_zone" and "token.<vendor>", or
// "open" / "click" with the push id.
func (c *Client) Report(kind, pushID string, fields map[string]string) error {
	c.mu.Lock()
	k := c.cur
	c.mu.Unlock()
	if k == nil {
		return ErrNotConnected
	}
	return k.send(&pb.Frame{Body: &pb.Frame_Report{Report: &pb.Report{Kind: kind, PushId: pushID, Fields: fields}}})
}

// ErrNotRegistered means Run was called without a device id and secret.
var ErrNotRegistered = errors.New("client: device not registered")

// New returns a client resuming from st (zero State: register first).
func New(cfg Config, st State) *Client {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.SDK == "" {
		cfg.SDK = "mopush-go/1"
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.DedupWindow <= 0 {
		cfg.DedupWindow = 4096
	}
	if cfg.NetDialContext == nil {
		cfg.NetDialContext = (&net.Dialer{KeepAlive: -1}).DialContext
	}
	if cfg.OnPush == nil {
		cfg.OnPush = func(Push) {}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, log: log, state: st, seen: newDedup(cfg.DedupWindow)}
}

// State returns the current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Registration is the device information sent at registration.
type Registration struct {
	Platform string            `json:"platform,omitempty"`
	Alias    string            `json:"alias,omitempty"`
	Tags     []string          `json:"tags,omitempty"`
	Tokens   map[string]string `json:"tokens,omitempty"`
	Locale   string            `json:"locale,omitempty"`
	TimeZone string            `json:"time_zone,omitempty"`
}

// APIError is a problem+json answer from the server.
type APIError struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("mopush api %d %s: %s", e.Status, e.Type, e.Detail)
}

// Register creates a new device and stores its id and secret in the state.
func (c *Client) Register(ctx context.Context, reg Registration) error {
	body := struct {
		AppKey string `json:"app_key"`
		Registration
	}{c.cfg.AppKey, reg}
	var out struct {
		DeviceID     string `json:"device_id"`
		DeviceSecret string `json:"device_secret"`
		AppID        string `json:"app_id"`
		ConnectorURL string `json:"connector_url"`
	}
	if err := c.call(ctx, http.MethodPost, "/v1/devices", body, &out); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	secret, err := base64.RawURLEncoding.DecodeString(out.DeviceSecret)
	if err != nil {
		return fmt.Errorf("register: device secret: %w", err)
	}
	c.mu.Lock()
	// The connector that owns the new device, when the answer names one,
	// is dialled first like the connector of a dropped session: the first
	// connect needs no dispatch request.
	c.state = State{DeviceID: out.DeviceID, Secret: secret, AppID: out.AppID, Connector: out.ConnectorURL}
	st := c.state
	c.mu.Unlock()
	c.persist(st)
	return nil
}

// dispatchBounded is dispatch within HandshakeTimeout when the HTTP
// client has no timeout of its own: it would otherwise wait for a
// dispatcher that accepted the request and never answers, and the device
// would never try again. A client's own timeout is kept as it is.
func (c *Client) dispatchBounded(ctx context.Context, deviceID string) ([]string, error) {
	if c.cfg.HTTP.Timeout <= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
		defer cancel()
	}
	return c.dispatch(ctx, deviceID)
}

// dispatch asks which connector owns the device: owner first, then
// fallbacks.
func (c *Client) dispatch(ctx context.Context, deviceID string) ([]string, error) {
	var out struct {
		URL       string `json:"url"`
		Fallbacks []struct {
			URL string `json:"url"`
		} `json:"fallbacks"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/dispatch?device_id="+url.QueryEscape(deviceID), nil, &out); err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	urls := []string{out.URL}
	for _, f := range out.Fallbacks {
		urls = append(urls, f.URL)
	}
	return urls, nil
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.Server+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		e := &APIError{Status: resp.StatusCode}
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(e) //nolint:errcheck // status is enough
		return e
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

func (c *Client) persist(st State) {
	if c.cfg.OnState != nil {
		c.cfg.OnState(st)
	}
}

func (c *Client) event(e Event) {
	if c.cfg.OnEvent != nil {
		c.cfg.OnEvent(e)
	}
}

// backoff returns a full-jitter delay for the attempt.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.MinBackoff << min(attempt, 16)
	if d > c.cfg.MaxBackoff || d <= 0 {
		d = c.cfg.MaxBackoff
	}
	return rand.N(d) + time.Millisecond
}
