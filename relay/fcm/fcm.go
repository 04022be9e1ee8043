package fcm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2/jwt"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Vendor is the name this sender reports.
const Vendor = "fcm"

// Defaults for Config.
const (
	DefaultEndpoint = "https://fcm.googleapis.com"
	DefaultTokenURL = "https://oauth2.googleapis.com/token"
)

// Config is one Firebase project's credentials and endpoints.
type Config struct {
	// ServiceAccountJSON is the service-account key file. Required.
	ServiceAccountJSON []byte
	// ProjectID is the Firebase project to send for. Default: the key
	// file's project_id.
	ProjectID string
	// Endpoint is the FCM base URL. Default DefaultEndpoint.
	Endpoint string
	// TokenURL is the OAuth 2.0 token endpoint. Default: the key file's
	// token_uri, else DefaultTokenURL.
	TokenURL string
}

// Option changes how New builds a Sender.
type Option func(*Sender)

// WithHTTPClient sets the client for both FCM and the token endpoint
// (default: a pooled HTTP/2 client with a 15s timeout).
func WithHTTPClient(c *http.Client) Option { return func(s *Sender) { s.http = c } }

// WithSharedTokens keeps the access token in shared, so that the instances
// of a cluster sending for one service account fetch it once (default:
// each sender fetches its own).
func WithSharedTokens(shared sendkit.SharedTokens) Option {
	return func(s *Sender) { s.shared = shared }
}

// Sender sends through FCM for one project. It is safe for concurrent use.
type Sender struct {
	http    *http.Client
	sendURL string
	jwt     *jwt.Config
	shared  sendkit.SharedTokens
	tokens  *sendkit.TokenCache
}

var _ relay.Sender = (*Sender)(nil)

// New checks cfg and the service account and builds a Sender. It does not
// fetch a token: the first Send does.
func New(cfg Config, opts ...Option) (*Sender, error) {
	sa, err := parseServiceAccount(cfg.ServiceAccountJSON)
	if err != nil {
		return nil, fmt.Errorf("fcm: config: %w", err)
	}
	cfg = withDefaults(cfg, sa)
	if cfg.ProjectID == "" {
		return nil, errors.New("fcm: config: project id is required")
	}
	s := &Sender{
		http: sendkit.NewClient(),
		sendURL: strings.TrimRight(cfg.Endpoint, "/") + "/v1/projects/" +
			url.PathEscape(cfg.ProjectID) + "/messages:send",
		jwt: &jwt.Config{
			Email:        sa.ClientEmail,
			PrivateKey:   []byte(sa.PrivateKey),
			PrivateKeyID: sa.PrivateKeyID,
			Scopes:       []string{Scope},
			TokenURL:     cfg.TokenURL,
		},
	}
	for _, o := range opts {
		o(s)
	}
	key := sendkit.TokenKey(Vendor, sa.ClientEmail, sa.PrivateKeyID, string(sa.publicKey), cfg.TokenURL, Scope)
	s.tokens = sendkit.NewSharedTokenCache(s.fetchToken, nil, s.shared, key)
	return s, nil
}

func withDefaults(cfg Config, sa serviceAccount) Config {
	if cfg.ProjectID == "" {
		cfg.ProjectID = sa.ProjectID
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = sa.TokenURI
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	return cfg
}

// Vendor returns "fcm".
func (s *Sender) Vendor() string { return Vendor }

// Send delivers m to the registration token m.Token.
func (s *Sender) Send(ctx context.Context, m *relay.Message) (relay.Result, error) {
	ttl, err := sendkit.Remaining(m, time.Now())
	if err != nil {
		return relay.Result{}, fmt.Errorf("fcm: %w", err)
	}
	if err := sendkit.DeadToken(Vendor, m); err != nil {
		return relay.Result{}, err
	}
	body, err := json.Marshal(sendRequest{Message: messageOf(m, ttl)})
	if err != nil {
		return relay.Result{}, fmt.Errorf("fcm: encode: %v: %w", err, relay.ErrRejected)
	}
	for attempt := 0; ; attempt++ {
		tok, err := s.tokens.Get(ctx)
		if err != nil {
			return relay.Result{}, err
		}
		res, err := s.post(ctx, tok, body)
		if err != nil {
			return relay.Result{}, sendkit.TransportError(ctx, Vendor, err)
		}
		if res.status == http.StatusUnauthorized && attempt == 0 {
			// The retry's answer decides, see TokenCache.Invalidate.
			s.tokens.Invalidate(ctx, tok) //nolint:errcheck // see above
			continue
		}
		return res.result(m.Token)
	}
}

// response is what FCM answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (s *Sender) post(ctx context.Context, token string, body []byte) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.sendURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := sendkit.ReadBody(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (r *response) result(token string) (relay.Result, error) {
	if r.status/100 != 2 {
		return relay.Result{}, classify(r.status, r.header, r.body, token)
	}
	var ok struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(r.body, &ok); err != nil {
		return relay.Result{}, &relay.RetryError{Vendor: Vendor, Status: r.status, Reason: "undecodable success body"}
	}
	return relay.Result{VendorID: ok.Name}, nil
}
