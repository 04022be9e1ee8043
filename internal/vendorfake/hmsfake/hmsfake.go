package hmsfake

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
)

// Config configures a fake. The zero value makes up an app.
type Config struct {
	// AppID is the app (OAuth client) id. Default "100000001".
	AppID string
	// AppSecret is the app secret. Default: random.
	AppSecret string
	// AccessTokenTTL is the lifetime of issued access tokens. Default 1h.
	AccessTokenTTL time.Duration
	// Now is the fake's clock; nil: time.Now.
	Now func() time.Time
}

// Message is one message the fake accepted, as decoded from the request.
type Message struct {
	// RequestID is the id the fake answered with.
	RequestID    string
	Tokens       []string       `json:"token"`
	Data         string         `json:"data,omitempty"`
	Notification *Notification  `json:"notification,omitempty"`
	Android      *AndroidConfig `json:"android,omitempty"`
}

// Notification is message.notification.
type Notification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	Image string `json:"image,omitempty"`
}

// AndroidConfig is message.android.
type AndroidConfig struct {
	CollapseKey  *int                 `json:"collapse_key,omitempty"`
	Urgency      string               `json:"urgency,omitempty"`
	Category     string               `json:"category,omitempty"`
	TTL          string               `json:"ttl,omitempty"`
	BiTag        string               `json:"bi_tag,omitempty"`
	Data         string               `json:"data,omitempty"`
	Notification *AndroidNotification `json:"notification,omitempty"`
}

// AndroidNotification is message.android.notification.
type AndroidNotification struct {
	Title       string       `json:"title,omitempty"`
	Body        string       `json:"body,omitempty"`
	Tag         string       `json:"tag,omitempty"`
	Importance  string       `json:"importance,omitempty"`
	ChannelID   string       `json:"channel_id,omitempty"`
	NotifyID    *int         `json:"notify_id,omitempty"`
	ClickAction *ClickAction `json:"click_action,omitempty"`
}

// ClickAction is what tapping the notification does.
type ClickAction struct {
	Type   int    `json:"type"`
	Intent string `json:"intent,omitempty"`
	URL    string `json:"url,omitempty"`
	Action string `json:"action,omitempty"`
}

type accessToken struct {
	expiry  time.Time
	revoked bool
}

// Server is a running fake Push Kit.
type Server struct {
	vendorfake.Script
	vendorfake.Recorder[Message]

	cfg Config
	srv *httptest.Server

	mu     sync.Mutex
	tokens map[string]*accessToken
	issued int
}

// New starts a fake Push Kit on 127.0.0.1 with a random port.
func New(cfg Config) *Server {
	if cfg.AppID == "" {
		cfg.AppID = "100000001"
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = rand.Text() + rand.Text()
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, tokens: make(map[string]*accessToken)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/v3/token", s.serveToken)
	mux.HandleFunc("/v1/{app}/messages:send", s.serveSend)
	s.srv = vendorfake.NewServer(mux, nil)
	return s
}

// URL is the fake's base URL: the sender's push endpoint and OAuth base.
func (s *Server) URL() string { return s.srv.URL }

// AppID is the app id the fake accepts.
func (s *Server) AppID() string { return s.cfg.AppID }

// AppSecret is the app secret the fake accepts.
func (s *Server) AppSecret() string { return s.cfg.AppSecret }

// Client returns an HTTP/2 client that trusts the fake.
func (s *Server) Client() *http.Client { return vendorfake.Client(s.srv) }

// Close shuts the fake down.
func (s *Server) Close() { s.srv.Close() }

// ExpireAccessTokens makes every access token issued so far expired: sends
// with them get result code 80200003.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// AccessTokens returns how many access tokens the fake has issued.
func (s *Server) AccessTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

func (s *Server) issue() string {
	b := make([]byte, 48)
	rand.Read(b) //nolint:errcheck // never fails
	tok := base64.StdEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = &accessToken{expiry: s.cfg.Now().Add(s.cfg.AccessTokenTTL)}
	s.issued++
	return tok
}

// tokenState reports whether tok was issued by the fake and, if so,
// whether it is still valid.
func (s *Server) tokenState(tok string) (known, valid bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if !ok {
		return false, false
	}
	return true, !t.revoked && s.cfg.Now().Before(t.expiry)
}
