package oppo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Vendor is the name the sender reports.
const Vendor = "oppo"

const (
	// DefaultBaseURL is OPPO Push for devices in mainland China; devices
	// elsewhere use https://api-intl.push.oppomobile.com.
	DefaultBaseURL = "https://api.push.oppomobile.com"
	// tokenLifetime is how long an auth_token is valid.
	tokenLifetime = 24 * time.Hour
	minTTL        = time.Hour
	maxTTL        = 10 * 24 * time.Hour
)

// Config is one app's OPPO Push credentials and defaults.
type Config struct {
	// AppKey identifies the app. Required.
	AppKey string
	// MasterSecret signs the auth request. Required.
	MasterSecret string
	// BaseURL is the API endpoint; default DefaultBaseURL.
	BaseURL string
	// ChannelID is the Android notification channel (channel_id); empty:
	// none sent.
	ChannelID string
	// HighPriorityChannelID is the channel for HighPriority messages;
	// default ChannelID.
	HighPriorityChannelID string
}

// Option changes how New builds a Sender.
type Option func(*Sender)

// WithSharedTokens keeps the auth token in shared, so that the instances of
// a cluster sending for one app fetch it once (default: each sender fetches
// its own).
func WithSharedTokens(shared sendkit.SharedTokens) Option {
	return func(s *Sender) { s.shared = shared }
}

// Sender sends through OPPO Push for one app.
type Sender struct {
	cfg    Config
	base   string
	client *http.Client
	now    func() time.Time
	shared sendkit.SharedTokens
	tokens *sendkit.TokenCache
}

var _ relay.Sender = (*Sender)(nil)

// New returns a Sender for cfg. A nil client means a default HTTP/2 client
// with a 15-second timeout.
func New(cfg Config, client *http.Client, opts ...Option) (*Sender, error) {
	if cfg.AppKey == "" || cfg.MasterSecret == "" {
		return nil, errors.New("oppo: AppKey and MasterSecret are required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.HighPriorityChannelID == "" {
		cfg.HighPriorityChannelID = cfg.ChannelID
	}
	if client == nil {
		client = sendkit.NewClient()
	}
	s := &Sender{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), client: client, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	key := sendkit.TokenKey(Vendor, cfg.AppKey, s.base, cfg.MasterSecret)
	s.tokens = sendkit.NewSharedTokenCache(s.fetchToken, s.now, s.shared, key)
	return s, nil
}

// Vendor returns "oppo".
func (s *Sender) Vendor() string { return Vendor }

// Send pushes m to one registration id.
func (s *Sender) Send(ctx context.Context, m *relay.Message) (relay.Result, error) {
	if err := sendkit.DeadToken(Vendor, m); err != nil {
		return relay.Result{}, err
	}
	if m.Background {
		return relay.Result{}, fmt.Errorf("oppo: no data-only messages: %w", relay.ErrRejected)
	}
	ttl, err := sendkit.Remaining(m, s.now())
	if err != nil {
		return relay.Result{}, err
	}
	message, err := json.Marshal(s.message(m, ttl))
	if err != nil {
		return relay.Result{}, fmt.Errorf("oppo: encode message: %w", relay.ErrRejected)
	}
	return sendkit.SendWithToken(ctx, s.tokens, func(ctx context.Context, tok string) (relay.Result, error) {
		return s.post(ctx, tok, string(message), m.Token)
	})
}

func (s *Sender) post(ctx context.Context, tok, message, device string) (relay.Result, error) {
	form := url.Values{"auth_token": {tok}, "message": {message}}
	status, h, body, err := s.postForm(ctx, "/server/v1/message/notification/unicast", form, tok)
	if err != nil {
		return relay.Result{}, err
	}
	return parseSend(status, h, body, device, s.now())
}

func (s *Sender) postForm(ctx context.Context, path string, form url.Values, tok string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	if tok != "" {
		req.Header.Set("auth_token", tok)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, nil, sendkit.TransportError(ctx, Vendor, err)
	}
	defer resp.Body.Close()
	body, err := sendkit.ReadBody(resp.Body)
	if err != nil {
		return 0, nil, nil, sendkit.TransportError(ctx, Vendor, err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

func (s *Sender) fetchToken(ctx context.Context) (sendkit.Token, error) {
	now := s.now()
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	sum := sha256.Sum256([]byte(s.cfg.AppKey + ts + s.cfg.MasterSecret))
	form := url.Values{"app_key": {s.cfg.AppKey}, "timestamp": {ts}, "sign": {hex.EncodeToString(sum[:])}}
	status, h, body, err := s.postForm(ctx, "/server/v1/auth", form, "")
	if err != nil {
		return sendkit.Token{}, err
	}
	tok, err := parseAuth(status, h, body, now)
	if err != nil {
		return sendkit.Token{}, err
	}
	return sendkit.Token{Value: tok, Expiry: now.Add(tokenLifetime)}, nil
}

type notification struct {
	Title            string `json:"title"`
	Content          string `json:"content"`
	ClickActionType  int    `json:"click_action_type"`
	ActionParameters string `json:"action_parameters,omitempty"`
	OffLine          bool   `json:"off_line"`
	OffLineTTL       int64  `json:"off_line_ttl,omitempty"`
	ChannelID        string `json:"channel_id,omitempty"`
	NotifyID         *int   `json:"notify_id,omitempty"`
}

type message struct {
	TargetType   int          `json:"target_type"`
	TargetValue  string       `json:"target_value"`
	Notification notification `json:"notification"`
}

func (s *Sender) message(m *relay.Message, ttl time.Duration) message {
	n := notification{Title: m.Title, Content: m.Body, OffLine: true, ChannelID: s.cfg.ChannelID}
	if m.HighPriority {
		n.ChannelID = s.cfg.HighPriorityChannelID
	}
	if len(m.Data) > 0 {
		params, _ := json.Marshal(m.Data)
		n.ActionParameters = string(params)
	}
	switch {
	case ttl == 0:
	case ttl < minTTL:
		n.OffLine = false
	default:
		n.OffLineTTL = int64(min(ttl, maxTTL) / time.Second)
	}
	if m.CollapseID != "" {
		id := sendkit.NotifyID(m.CollapseID)
		n.NotifyID = &id
	}
	return message{TargetType: 2, TargetValue: m.Token, Notification: n}
}
