package webpush

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Vendor is the name this sender reports.
const Vendor = "webpush"

// Defaults and limits for Config.
const (
	DefaultTTL         = 28 * 24 * time.Hour
	DefaultVAPIDExpiry = 12 * time.Hour
	maxVAPIDExpiry     = 24 * time.Hour // RFC 8292 section 2
)

// Config is one application server's VAPID identity and defaults.
type Config struct {
	// VAPIDPrivateKey is the application server's P-256 private key as
	// base64url of its 32-byte scalar (what GenerateVAPIDKeys and common
	// web-push tools print). Required.
	VAPIDPrivateKey string
	// Subject is the contact in the VAPID token, a "mailto:" or "https:"
	// URI. Required.
	Subject string
	// DefaultTTL is the TTL of messages without ExpiresAt. Default 28 days.
	DefaultTTL time.Duration
	// VAPIDExpiry is the lifetime of VAPID tokens, at most 24h. Default 12h.
	VAPIDExpiry time.Duration
	// AllowedHosts, when not empty, limits endpoints to these push service
	// hosts and their subdomains (for example "fcm.googleapis.com",
	// "push.services.mozilla.com", "push.apple.com",
	// "notify.windows.com"), so a forged subscription cannot make the
	// relay POST to an arbitrary URL. Empty: any https host.
	AllowedHosts []string
}

// Option changes how New builds a Sender.
type Option func(*Sender)

// WithHTTPClient sets the client for push services (default: a pooled
// HTTP/2 client with a 15s timeout).
func WithHTTPClient(c *http.Client) Option { return func(s *Sender) { s.http = c } }

// Sender sends Web Push messages for one application server. It is safe
// for concurrent use.
type Sender struct {
	http    *http.Client
	vapid   *vapid
	ttl     time.Duration
	allowed []string
}

var _ relay.Sender = (*Sender)(nil)

// New checks cfg and builds a Sender.
func New(cfg Config, opts ...Option) (*Sender, error) {
	if !strings.HasPrefix(cfg.Subject, "mailto:") && !strings.HasPrefix(cfg.Subject, "https:") {
		return nil, errors.New("webpush: config: subject must be a mailto: or https: URI")
	}
	if cfg.DefaultTTL <= 0 {
		cfg.DefaultTTL = DefaultTTL
	}
	if cfg.VAPIDExpiry <= 0 {
		cfg.VAPIDExpiry = DefaultVAPIDExpiry
	}
	cfg.VAPIDExpiry = min(cfg.VAPIDExpiry, maxVAPIDExpiry)
	v, err := newVAPID(cfg.VAPIDPrivateKey, cfg.Subject, cfg.VAPIDExpiry)
	if err != nil {
		return nil, fmt.Errorf("webpush: config: %w", err)
	}
	s := &Sender{http: sendkit.NewClient(), vapid: v, ttl: cfg.DefaultTTL}
	for _, h := range cfg.AllowedHosts {
		s.allowed = append(s.allowed, strings.ToLower(strings.TrimPrefix(h, ".")))
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Vendor returns "webpush".
func (s *Sender) Vendor() string { return Vendor }

// PublicKey returns the application server key for browsers'
// pushManager.subscribe, base64url of the uncompressed point.
func (s *Sender) PublicKey() string { return s.vapid.pub }

// Send encrypts m for the subscription in m.Token and posts it to the
// subscription's push service.
func (s *Sender) Send(ctx context.Context, m *relay.Message) (relay.Result, error) {
	now := time.Now()
	ttl, err := sendkit.Remaining(m, now)
	if err != nil {
		return relay.Result{}, fmt.Errorf("webpush: %w", err)
	}
	if ttl == 0 {
		ttl = s.ttl
	}
	if err := sendkit.DeadToken(Vendor, m); err != nil {
		return relay.Result{}, err
	}
	sub, err := ParseSubscription(m.Token)
	if err != nil {
		return relay.Result{}, &relay.DeadTokenError{Vendor: Vendor, Reason: "invalid subscription"}
	}
	if !s.hostAllowed(sub.host()) {
		return relay.Result{}, fmt.Errorf("webpush: push service host not allowed: %w", relay.ErrRejected)
	}
	req, err := s.request(ctx, m, sub, ttl, now)
	if err != nil {
		return relay.Result{}, err
	}
	return s.do(ctx, req)
}

func (s *Sender) request(ctx context.Context, m *relay.Message, sub *Subscription, ttl time.Duration, now time.Time) (*http.Request, error) {
	plain, err := json.Marshal(payloadOf(m))
	if err != nil {
		return nil, fmt.Errorf("webpush: encode: %v: %w", err, relay.ErrRejected)
	}
	body, err := Encrypt(plain, sub)
	if errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%w: %w", err, relay.ErrRejected)
	}
	if err != nil {
		return nil, fmt.Errorf("webpush: encrypt: %v: %w", err, relay.ErrRejected)
	}
	auth, err := s.vapid.authorization(sub.origin(), now)
	if err != nil {
		return nil, fmt.Errorf("webpush: vapid: %v: %w", err, relay.ErrBadCredentials)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &relay.DeadTokenError{Vendor: Vendor, Reason: "invalid endpoint"}
	}
	h := req.Header
	h.Set("Authorization", auth)
	h.Set("Content-Encoding", "aes128gcm")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("TTL", strconv.FormatInt(int64(ttl/time.Second), 10))
	h.Set("Urgency", "normal")
	if m.HighPriority {
		h.Set("Urgency", "high")
	}
	if m.CollapseID != "" {
		h.Set("Topic", topic(m.CollapseID))
	}
	return req, nil
}

func (s *Sender) do(ctx context.Context, req *http.Request) (relay.Result, error) {
	resp, err := s.http.Do(req)
	if err != nil {
		return relay.Result{}, sendkit.TransportError(ctx, Vendor, err)
	}
	defer resp.Body.Close()
	sendkit.ReadBody(resp.Body) //nolint:errcheck // drained for connection reuse only
	return classify(resp.StatusCode, resp.Header)
}

// classify maps a push service's answer.
func classify(status int, h http.Header) (relay.Result, error) {
	switch {
	case status/100 == 2:
		return relay.Result{VendorID: h.Get("Location")}, nil
	case status == http.StatusNotFound || status == http.StatusGone:
		return relay.Result{}, &relay.DeadTokenError{Vendor: Vendor, Reason: strconv.Itoa(status) + " " + http.StatusText(status)}
	default:
		return relay.Result{}, sendkit.StatusError(Vendor, status, h, time.Now())
	}
}

func (s *Sender) hostAllowed(host string) bool {
	if len(s.allowed) == 0 {
		return true
	}
	for _, a := range s.allowed {
		if host == a || strings.HasSuffix(host, "."+a) {
			return true
		}
	}
	return false
}

// payload is the plaintext the service worker receives.
type payload struct {
	PushID string            `json:"push_id,omitempty"`
	Title  string            `json:"title,omitempty"`
	Body   string            `json:"body,omitempty"`
	Data   map[string]string `json:"data,omitempty"`
}

func payloadOf(m *relay.Message) payload {
	p := payload{PushID: m.PushID, Data: m.Data}
	if !m.Background {
		p.Title, p.Body = m.Title, m.Body
	}
	return p
}

var topicRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// topic makes a collapse id a valid Topic header (RFC 8030 section 5.4).
func topic(id string) string {
	if topicRE.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:32]
}
