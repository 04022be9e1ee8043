package honor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Vendor is the name the sender reports.
const Vendor = "honor"

const (
	// DefaultTokenURL is Honor's OAuth token endpoint.
	DefaultTokenURL = "https://iam.developer.honor.com/auth/token"
	// DefaultBaseURL is Honor Push's API endpoint.
	DefaultBaseURL = "https://push-api.cloud.honor.com"
	maxTTL         = 15 * 24 * time.Hour
	// clickOpenApp is clickAction type 3.
	clickOpenApp = 3
	// importanceNormal is Honor's service and communication class.
	importanceNormal = "NORMAL"
)

// Config is one app's Honor Push credentials and defaults.
type Config struct {
	// AppID is the app id in the send path. Required.
	AppID string
	// ClientID is the OAuth client id. Required.
	ClientID string
	// ClientSecret is the OAuth client secret. Required.
	ClientSecret string
	// TokenURL is the OAuth token endpoint; default DefaultTokenURL.
	TokenURL string
	// BaseURL is the push API endpoint; default DefaultBaseURL.
	BaseURL string
	// Importance is android.notification.importance for normal messages
	// ("LOW" marketing, "NORMAL" service); default empty: Honor's default.
	// HighPriority messages always use "NORMAL".
	Importance string
}

// Option changes how New builds a Sender.
type Option func(*Sender)

// WithSharedTokens keeps the access token in shared, so that the instances
// of a cluster sending for one OAuth client fetch it once (default: each
// sender fetches its own).
func WithSharedTokens(shared sendkit.SharedTokens) Option {
	return func(s *Sender) { s.shared = shared }
}

// Sender sends through Honor Push for one app.
type Sender struct {
	cfg      Config
	endpoint string
	client   *http.Client
	now      func() time.Time
	shared   sendkit.SharedTokens
	tokens   *sendkit.TokenCache
}

var _ relay.Sender = (*Sender)(nil)

// New returns a Sender for cfg. A nil client means a default HTTP/2 client
// with a 15-second timeout; it is used for the token endpoint too.
func New(cfg Config, client *http.Client, opts ...Option) (*Sender, error) {
	if cfg.AppID == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("honor: AppID, ClientID and ClientSecret are required")
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if client == nil {
		client = sendkit.NewClient()
	}
	s := &Sender{
		cfg:      cfg,
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/api/v1/" + url.PathEscape(cfg.AppID) + "/sendMessage",
		client:   client,
		now:      time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	oauth := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     cfg.TokenURL,
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	key := sendkit.TokenKey(Vendor, cfg.ClientID, cfg.TokenURL, cfg.ClientSecret)
	s.tokens = sendkit.NewSharedTokenCache(sendkit.OAuthFetcher(Vendor, oauth, client, s.now), s.now, s.shared, key)
	return s, nil
}

// Vendor returns "honor".
func (s *Sender) Vendor() string { return Vendor }

// Send pushes m to one push token.
func (s *Sender) Send(ctx context.Context, m *relay.Message) (relay.Result, error) {
	if err := sendkit.DeadToken(Vendor, m); err != nil {
		return relay.Result{}, err
	}
	ttl, err := sendkit.Remaining(m, s.now())
	if err != nil {
		return relay.Result{}, err
	}
	body, err := json.Marshal(s.request(m, ttl))
	if err != nil {
		return relay.Result{}, fmt.Errorf("honor: encode message: %w", relay.ErrRejected)
	}
	return sendkit.SendWithToken(ctx, s.tokens, func(ctx context.Context, tok string) (relay.Result, error) {
		return s.post(ctx, tok, body, m.Token)
	})
}

func (s *Sender) post(ctx context.Context, tok string, body []byte, device string) (relay.Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return relay.Result{}, err
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("timestamp", strconv.FormatInt(s.now().UnixMilli(), 10))
	resp, err := s.client.Do(req)
	if err != nil {
		return relay.Result{}, sendkit.TransportError(ctx, Vendor, err)
	}
	defer resp.Body.Close()
	answer, err := sendkit.ReadBody(resp.Body)
	if err != nil {
		return relay.Result{}, sendkit.TransportError(ctx, Vendor, err)
	}
	return parseSend(resp.StatusCode, resp.Header, answer, device, s.now())
}

type clickAction struct {
	Type int `json:"type"`
}

type androidNotification struct {
	Title       string      `json:"title"`
	Body        string      `json:"body"`
	Importance  string      `json:"importance,omitempty"`
	NotifyID    *int        `json:"notifyId,omitempty"`
	Tag         string      `json:"tag,omitempty"`
	ClickAction clickAction `json:"clickAction"`
}

type android struct {
	TTL          string               `json:"ttl,omitempty"`
	Notification *androidNotification `json:"notification,omitempty"`
}

type notification struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

type sendRequest struct {
	Data         string        `json:"data,omitempty"`
	Notification *notification `json:"notification,omitempty"`
	Android      *android      `json:"android,omitempty"`
	Token        []string      `json:"token"`
}

func (s *Sender) request(m *relay.Message, ttl time.Duration) sendRequest {
	r := sendRequest{Token: []string{m.Token}, Android: &android{}}
	if len(m.Data) > 0 {
		data, _ := json.Marshal(m.Data)
		r.Data = string(data)
	}
	if ttl = sendkit.Clamp(ttl, time.Second, maxTTL); ttl > 0 {
		r.Android.TTL = strconv.FormatInt(int64(ttl/time.Second), 10) + "s"
	}
	if m.Background {
		return r
	}
	r.Notification = &notification{Title: m.Title, Body: m.Body}
	an := &androidNotification{Title: m.Title, Body: m.Body, Importance: s.cfg.Importance, ClickAction: clickAction{Type: clickOpenApp}}
	if m.HighPriority {
		an.Importance = importanceNormal
	}
	if m.CollapseID != "" {
		id := sendkit.NotifyID(m.CollapseID)
		an.NotifyID, an.Tag = &id, m.CollapseID
	}
	r.Android.Notification = an
	return r
}
