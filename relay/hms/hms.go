package hms

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

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Vendor is the name this sender reports.
const Vendor = "hms"

// Defaults for Config.
const (
	DefaultEndpoint = "https://push-api.cloud.huawei.com"
	DefaultOAuthURL = "https://oauth-login.cloud.huawei.com"
)

// defaultTokenLife is assumed when the token endpoint gives no expires_in.
const defaultTokenLife = 30 * time.Minute

// Config is one app's Push Kit credentials and endpoints.
type Config struct {
	// AppID is the app id (OAuth 2.0 client id) from AppGallery Connect.
	// Required.
	AppID string
	// AppSecret is the app secret (OAuth 2.0 client secret). Required.
	AppSecret string
	// Endpoint is the Push Kit base URL. Default DefaultEndpoint.
	Endpoint string
	// OAuthURL is the OAuth server base URL; the token endpoint is
	// {OAuthURL}/oauth2/v3/token. Default DefaultOAuthURL.
	OAuthURL string
}

// Option changes how New builds a Sender.
type Option func(*Sender)

// WithHTTPClient sets the client for both Push Kit and the token endpoint
// (default: a pooled HTTP/2 client with a 15s timeout).
func WithHTTPClient(c *http.Client) Option { return func(s *Sender) { s.http = c } }

// WithSharedTokens keeps the access token in shared, so that the instances
// of a cluster sending for one app fetch it once (default: each sender
// fetches its own).
func WithSharedTokens(shared sendkit.SharedTokens) Option {
	return func(s *Sender) { s.shared = shared }
}

// Sender sends through Push Kit for one app. It is safe for concurrent use.
type Sender struct {
	http    *http.Client
	sendURL string
	oauth   *clientcredentials.Config
	shared  sendkit.SharedTokens
	tokens  *sendkit.TokenCache
}

var _ relay.Sender = (*Sender)(nil)

// New checks cfg and builds a Sender. It does not fetch a token: the first
// Send does.
func New(cfg Config, opts ...Option) (*Sender, error) {
	if cfg.AppID == "" || cfg.AppSecret == "" {
		return nil, errors.New("hms: config: app id and app secret are required")
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	if cfg.OAuthURL == "" {
		cfg.OAuthURL = DefaultOAuthURL
	}
	s := &Sender{
		http:    sendkit.NewClient(),
		sendURL: strings.TrimRight(cfg.Endpoint, "/") + "/v1/" + url.PathEscape(cfg.AppID) + "/messages:send",
		oauth: &clientcredentials.Config{
			ClientID:     cfg.AppID,
			ClientSecret: cfg.AppSecret,
			TokenURL:     strings.TrimRight(cfg.OAuthURL, "/") + "/oauth2/v3/token",
			AuthStyle:    oauth2.AuthStyleInParams,
		},
	}
	for _, o := range opts {
		o(s)
	}
	key := sendkit.TokenKey(Vendor, cfg.AppID, s.oauth.TokenURL, cfg.AppSecret)
	s.tokens = sendkit.NewSharedTokenCache(s.fetchToken, nil, s.shared, key)
	return s, nil
}

// Vendor returns "hms".
func (s *Sender) Vendor() string { return Vendor }

// Send delivers m to the Push Kit token m.Token.
func (s *Sender) Send(ctx context.Context, m *relay.Message) (relay.Result, error) {
	ttl, err := sendkit.Remaining(m, time.Now())
	if err != nil {
		return relay.Result{}, fmt.Errorf("hms: %w", err)
	}
	if err := sendkit.DeadToken(Vendor, m); err != nil {
		return relay.Result{}, err
	}
	body, err := json.Marshal(sendRequest{Message: messageOf(m, ttl)})
	if err != nil {
		return relay.Result{}, fmt.Errorf("hms: encode: %v: %w", err, relay.ErrRejected)
	}
	for attempt := 0; ; attempt++ {
		tok, err := s.tokens.Get(ctx)
		if err != nil {
			return relay.Result{}, err
		}
		res, err := s.post(ctx, tok, body, m.Token)
		var refused *tokenRefusedError
		if errors.As(err, &refused) && attempt == 0 {
			// The retry's answer decides, see TokenCache.Invalidate.
			s.tokens.Invalidate(ctx, tok) //nolint:errcheck // see above
			continue
		}
		return res, err
	}
}

func (s *Sender) post(ctx context.Context, token string, body []byte, device string) (relay.Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.sendURL, bytes.NewReader(body))
	if err != nil {
		return relay.Result{}, fmt.Errorf("hms: %v: %w", err, relay.ErrRejected)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	resp, err := s.http.Do(req)
	if err != nil {
		return relay.Result{}, sendkit.TransportError(ctx, Vendor, err)
	}
	defer resp.Body.Close()
	b, err := sendkit.ReadBody(resp.Body)
	if err != nil {
		return relay.Result{}, sendkit.TransportError(ctx, Vendor, err)
	}
	return outcome(resp.StatusCode, resp.Header, b, device)
}

// fetchToken runs the client-credentials grant.
func (s *Sender) fetchToken(ctx context.Context) (sendkit.Token, error) {
	tok, err := s.oauth.Token(context.WithValue(ctx, oauth2.HTTPClient, s.http))
	if err != nil {
		return sendkit.Token{}, tokenError(ctx, err)
	}
	exp := tok.Expiry
	if exp.IsZero() {
		exp = time.Now().Add(defaultTokenLife)
	}
	return sendkit.Token{Value: tok.AccessToken, Expiry: exp}, nil
}

// tokenError maps a failed token fetch: a refusal of the app's credentials
// is bad credentials, throttling and 5xx are retryable, and so is a
// transport failure.
func tokenError(ctx context.Context, err error) error {
	var rerr *oauth2.RetrieveError
	if !errors.As(err, &rerr) || rerr.Response == nil {
		return sendkit.TransportError(ctx, Vendor, err)
	}
	status := rerr.Response.StatusCode
	if status == http.StatusTooManyRequests || status >= 500 {
		return &relay.RetryError{Vendor: Vendor, Status: status, Reason: "oauth token endpoint",
			After: sendkit.RetryAfter(rerr.Response.Header, time.Now())}
	}
	return fmt.Errorf("hms: oauth token: status %d %s: %w", status, oauthError(rerr.Body), relay.ErrBadCredentials)
}

// oauthError describes a Huawei OAuth error body, whose "error" is a
// number, or a standard one, whose "error" is a string.
func oauthError(body []byte) string {
	var e struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Error) == 0 {
		return ""
	}
	return sendkit.Reason(strings.Trim(string(e.Error), `"`)+" "+e.Description, "")
}
