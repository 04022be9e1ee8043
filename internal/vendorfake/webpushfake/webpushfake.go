package webpushfake

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
)

// Config configures a fake. The zero value is ready to use.
type Config struct {
	// MaxBody is the largest encrypted body accepted. Default 4096, the
	// least RFC 8030 lets a push service accept.
	MaxBody int
	// Now is the fake's clock for VAPID expiry; nil: time.Now.
	Now func() time.Time
}

// Message is one push message the fake accepted.
type Message struct {
	// Endpoint is the subscription's push resource URL.
	Endpoint string
	// Location is the message URL the fake answered with.
	Location string
	TTL      int
	Urgency  string // "normal" when the header was absent
	Topic    string
	// Plaintext is the decrypted message.
	Plaintext []byte
	// VAPIDKey is the application server key from the "k" parameter,
	// base64url.
	VAPIDKey string
	// Subject is the VAPID "sub" claim.
	Subject string
}

type subscription struct {
	key    *ecdh.PrivateKey
	auth   []byte
	appKey []byte // the applicationServerKey it is restricted to, if any
	gone   bool
}

// Server is a running fake push service.
type Server struct {
	vendorfake.Script
	vendorfake.Recorder[Message]

	cfg Config
	srv *httptest.Server

	mu   sync.Mutex
	subs map[string]*subscription // by id
}

// New starts a fake push service on 127.0.0.1 with a random port.
func New(cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 4096
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, subs: make(map[string]*subscription)}
	mux := http.NewServeMux()
	mux.HandleFunc("/push/{id}", s.servePush)
	s.srv = vendorfake.NewServer(mux, nil)
	return s
}

// URL is the fake's base URL; subscription endpoints live under it.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP/2 client that trusts the fake.
func (s *Server) Client() *http.Client { return vendorfake.Client(s.srv) }

// Close shuts the fake down.
func (s *Server) Close() { s.srv.Close() }

// NewSubscription makes a subscription and returns it as
// PushSubscription.toJSON() gives it. When applicationServerKey (an
// uncompressed P-256 point) is not nil, pushes must carry a VAPID token
// signed with that key, as when a browser subscribes with one.
func (s *Server) NewSubscription(applicationServerKey []byte) (string, error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		return "", err
	}
	id := rand.Text()
	s.mu.Lock()
	s.subs[id] = &subscription{key: key, auth: auth, appKey: applicationServerKey}
	s.mu.Unlock()
	b, err := json.Marshal(map[string]any{
		"endpoint":       s.srv.URL + "/push/" + id,
		"expirationTime": nil,
		"keys": map[string]string{
			"p256dh": base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
			"auth":   base64.RawURLEncoding.EncodeToString(auth),
		},
	})
	return string(b), err
}

// Unsubscribe makes the subscription with this endpoint answer 410 Gone,
// as after the user revokes permission.
func (s *Server) Unsubscribe(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sub := range s.subs {
		if s.srv.URL+"/push/"+id == endpoint {
			sub.gone = true
		}
	}
}

func (s *Server) lookup(id string) (*subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return nil, false
	}
	cp := *sub
	return &cp, true
}
