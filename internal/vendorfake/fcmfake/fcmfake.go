package fcmfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
)

// Scope is the OAuth scope FCM sends need.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// Config configures a fake. The zero value serves project "mopush-test".
type Config struct {
	// ProjectID is the Firebase project the fake serves. Default
	// "mopush-test".
	ProjectID string
	// AccessTokenTTL is the lifetime of issued access tokens. Default 1h.
	AccessTokenTTL time.Duration
	// Now is the fake's clock; nil: time.Now.
	Now func() time.Time
}

// Message is one message the fake accepted, as decoded from the request.
type Message struct {
	// Name is the id the fake answered with,
	// "projects/{project}/messages/{id}".
	Name         string
	Token        string            `json:"token"`
	Notification *Notification     `json:"notification,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
	Android      *AndroidConfig    `json:"android,omitempty"`
}

// Notification is the message's basic notification.
type Notification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	Image string `json:"image,omitempty"`
}

// AndroidConfig is the message's Android options.
type AndroidConfig struct {
	CollapseKey           string `json:"collapse_key,omitempty"`
	Priority              string `json:"priority,omitempty"`
	TTL                   string `json:"ttl,omitempty"`
	RestrictedPackageName string `json:"restricted_package_name,omitempty"`
}

type saKey struct {
	email string
	pub   *rsa.PublicKey
}

type accessToken struct {
	project string
	expiry  time.Time
}

// Server is a running fake FCM.
type Server struct {
	vendorfake.Script
	vendorfake.Recorder[Message]

	cfg Config
	srv *httptest.Server

	mu     sync.Mutex
	keys   map[string]saKey // by private_key_id
	tokens map[string]accessToken
	issued int
}

// New starts a fake FCM on 127.0.0.1 with a random port.
func New(cfg Config) *Server {
	if cfg.ProjectID == "" {
		cfg.ProjectID = "mopush-test"
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, keys: make(map[string]saKey), tokens: make(map[string]accessToken)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.serveToken)
	mux.HandleFunc("/v1/projects/{project}/messages:send", s.serveSend)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, &fcmError{status: http.StatusNotFound, message: "The requested URL was not found on this server."},
			vendorfake.Fault{})
	})
	s.srv = vendorfake.NewServer(mux, nil)
	return s
}

// URL is the fake's base URL, the value for the sender's endpoint.
func (s *Server) URL() string { return s.srv.URL }

// TokenURL is the fake's OAuth 2.0 token endpoint.
func (s *Server) TokenURL() string { return s.srv.URL + "/token" }

// ProjectID is the project the fake serves.
func (s *Server) ProjectID() string { return s.cfg.ProjectID }

// Client returns an HTTP/2 client that trusts the fake.
func (s *Server) Client() *http.Client { return vendorfake.Client(s.srv) }

// Close shuts the fake down.
func (s *Server) Close() { s.srv.Close() }

// ServiceAccountJSON makes a new service-account key for the fake's project
// and returns its key file, in the format the Google Cloud console
// downloads, with token_uri set to TokenURL.
func (s *Server) ServiceAccountJSON() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyID := strings.ToLower(rand.Text())
	email := fmt.Sprintf("firebase-adminsdk-%s@%s.iam.gserviceaccount.com", keyID[:5], s.cfg.ProjectID)
	s.mu.Lock()
	s.keys[keyID] = saKey{email: email, pub: &key.PublicKey}
	s.mu.Unlock()
	return json.MarshalIndent(map[string]string{
		"type":           "service_account",
		"project_id":     s.cfg.ProjectID,
		"private_key_id": keyID,
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   email,
		"client_id":      "1000000000000000000",
		"auth_uri":       "https://accounts.google.com/o/oauth2/auth",
		"token_uri":      s.TokenURL(),
	}, "", "  ")
}

// ExpireAccessTokens makes every access token issued so far invalid, as if
// it had expired or been revoked.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// AccessTokens returns how many access tokens the fake has issued.
func (s *Server) AccessTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

func (s *Server) issue(project string) (string, time.Duration) {
	tok := "ya29.fake-" + rand.Text()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = accessToken{project: project, expiry: s.cfg.Now().Add(s.cfg.AccessTokenTTL)}
	s.issued++
	return tok, s.cfg.AccessTokenTTL
}

// tokenProject returns the project an access token was issued for, if it
// is known and unexpired.
func (s *Server) tokenProject(tok string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if !ok || !s.cfg.Now().Before(t.expiry) {
		return "", false
	}
	return t.project, true
}
