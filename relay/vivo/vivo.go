package vivo

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Vendor is the name the sender reports.
const Vendor = "vivo"

const (
	// DefaultBaseURL is vivo Push's API endpoint.
	DefaultBaseURL = "https://api-push.vivo.com.cn"
	// tokenLifetime is shorter than the documented day, so the cache renews
	// the token while the old one still works.
	tokenLifetime = 20 * time.Hour
	minTTL        = 900 * time.Second
	maxTTL        = 7 * 24 * time.Hour
	// notifyRingAndVibrate is notifyType 4.
	notifyRingAndVibrate = 4
	// skipOpenApp is skipType 1.
	skipOpenApp = 1
	// classificationSystem marks a system message.
	classificationSystem = 1
)

// Config is one app's vivo Push credentials and defaults.
type Config struct {
	// AppID is the numeric app id. Required.
	AppID string
	// AppKey is the app key. Required.
	AppKey string
	// AppSecret signs the auth request. Required.
	AppSecret string
	// BaseURL is the API endpoint; default DefaultBaseURL.
	BaseURL string
	// NotifyType is vivo's notifyType (1 none, 2 sound, 3 vibration, 4 both);
	// default 4.
	NotifyType int
	// Classification is the class of normal messages (0 operational, 1
	// system); default 0. HighPriority messages are sent as system messages;
	// vivo audits the class, so only use HighPriority for what vivo counts as
	// system messages (chat, orders, account notices).
	Classification int
}

// Option changes how New builds a Sender.
type Option func(*Sender)

// WithSharedTokens keeps the auth token in shared, so that the instances of
// a cluster sending for one app fetch it once (default: each sender fetches
// its own).
func WithSharedTokens(shared sendkit.SharedTokens) Option {
	return func(s *Sender) { s.shared = shared }
}

// Sender sends through vivo Push for one app.
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
	if cfg.AppID == "" || cfg.AppKey == "" || cfg.AppSecret == "" {
		return nil, errors.New("vivo: AppID, AppKey and AppSecret are required")
	}
	if _, err := strconv.ParseUint(cfg.AppID, 10, 63); err != nil {
		return nil, errors.New("vivo: AppID must be numeric")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.NotifyType == 0 {
		cfg.NotifyType = notifyRingAndVibrate
	}
	if client == nil {
		client = sendkit.NewClient()
	}
	s := &Sender{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), client: client, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	key := sendkit.TokenKey(Vendor, cfg.AppID, cfg.AppKey, s.base, cfg.AppSecret)
	s.tokens = sendkit.NewSharedTokenCache(s.fetchToken, s.now, s.shared, key)
	return s, nil
}

// Vendor returns "vivo".
func (s *Sender) Vendor() string { return Vendor }

// Send pushes m to one regId.
func (s *Sender) Send(ctx context.Context, m *relay.Message) (relay.Result, error) {
	if err := sendkit.DeadToken(Vendor, m); err != nil {
		return relay.Result{}, err
	}
	if m.Background {
		return relay.Result{}, fmt.Errorf("vivo: no data-only messages: %w", relay.ErrRejected)
	}
	ttl, err := sendkit.Remaining(m, s.now())
	if err != nil {
		return relay.Result{}, err
	}
	body, err := json.Marshal(s.request(m, ttl))
	if err != nil {
		return relay.Result{}, fmt.Errorf("vivo: encode message: %w", relay.ErrRejected)
	}
	return sendkit.SendWithToken(ctx, s.tokens, func(ctx context.Context, tok string) (relay.Result, error) {
		status, h, answer, err := s.postJSON(ctx, "/message/send", body, tok)
		if err != nil {
			return relay.Result{}, err
		}
		return parseSend(status, h, answer, m.Token, s.now())
	})
}

func (s *Sender) postJSON(ctx context.Context, path string, body []byte, tok string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	if tok != "" {
		req.Header.Set("authToken", tok)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, nil, sendkit.TransportError(ctx, Vendor, err)
	}
	defer resp.Body.Close()
	answer, err := sendkit.ReadBody(resp.Body)
	if err != nil {
		return 0, nil, nil, sendkit.TransportError(ctx, Vendor, err)
	}
	return resp.StatusCode, resp.Header, answer, nil
}

type authRequest struct {
	AppID     json.Number `json:"appId"`
	AppKey    string      `json:"appKey"`
	Timestamp int64       `json:"timestamp"`
	Sign      string      `json:"sign"`
}

func (s *Sender) fetchToken(ctx context.Context) (sendkit.Token, error) {
	now := s.now()
	ts := now.UnixMilli()
	sum := md5.Sum([]byte(s.cfg.AppID + s.cfg.AppKey + strconv.FormatInt(ts, 10) + s.cfg.AppSecret))
	body, err := json.Marshal(authRequest{
		AppID: json.Number(s.cfg.AppID), AppKey: s.cfg.AppKey, Timestamp: ts, Sign: hex.EncodeToString(sum[:]),
	})
	if err != nil {
		return sendkit.Token{}, err
	}
	status, h, answer, err := s.postJSON(ctx, "/message/auth", body, "")
	if err != nil {
		return sendkit.Token{}, err
	}
	tok, err := parseAuth(status, h, answer, now)
	if err != nil {
		return sendkit.Token{}, err
	}
	return sendkit.Token{Value: tok, Expiry: now.Add(tokenLifetime)}, nil
}

type sendRequest struct {
	RegID           string            `json:"regId"`
	NotifyType      int               `json:"notifyType"`
	Title           string            `json:"title"`
	Content         string            `json:"content"`
	TimeToLive      int64             `json:"timeToLive,omitempty"`
	SkipType        int               `json:"skipType"`
	Classification  int               `json:"classification"`
	NotifyID        int               `json:"notifyId,omitempty"`
	ClientCustomMap map[string]string `json:"clientCustomMap,omitempty"`
	RequestID       string            `json:"requestId"`
}

func (s *Sender) request(m *relay.Message, ttl time.Duration) sendRequest {
	r := sendRequest{
		RegID:           m.Token,
		NotifyType:      s.cfg.NotifyType,
		Title:           m.Title,
		Content:         m.Body,
		SkipType:        skipOpenApp,
		Classification:  s.cfg.Classification,
		ClientCustomMap: m.Data,
		RequestID:       requestID(),
	}
	if m.HighPriority {
		r.Classification = classificationSystem
	}
	if ttl = sendkit.Clamp(ttl, minTTL, maxTTL); ttl > 0 {
		r.TimeToLive = int64(ttl / time.Second)
	}
	if m.CollapseID != "" {
		r.NotifyID = max(sendkit.NotifyID(m.CollapseID), 1)
	}
	return r
}

// requestID returns a random 32-character id; vivo wants one per request.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
