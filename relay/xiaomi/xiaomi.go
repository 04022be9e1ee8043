package xiaomi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Vendor is the name the sender reports.
const Vendor = "xiaomi"

const (
	// DefaultBaseURL is MiPush's API endpoint for mainland China. The global
	// endpoint is https://api.xmpush.global.xiaomi.com.
	DefaultBaseURL = "https://api.xmpush.xiaomi.com"
	// maxTTL is MiPush's longest time_to_live.
	maxTTL = 14 * 24 * time.Hour
	// notifyTypeAll is DEFAULT_ALL: sound, vibration and lights.
	notifyTypeAll = -1
)

// Config is one app's MiPush credentials and defaults.
type Config struct {
	// AppSecret authenticates every request. Required.
	AppSecret string
	// PackageName is the Android package (restricted_package_name). Required.
	PackageName string
	// BaseURL is the API endpoint; default DefaultBaseURL.
	BaseURL string
	// ChannelID is the Android notification channel (extra.channel_id);
	// empty: none sent.
	ChannelID string
	// HighPriorityChannelID is the channel for HighPriority messages;
	// default ChannelID.
	HighPriorityChannelID string
	// NotifyType is MiPush's notify_type bit set (1 sound, 2 vibrate, 4
	// lights); default -1, all of them.
	NotifyType int
}

// Sender sends through MiPush for one app.
type Sender struct {
	cfg      Config
	endpoint string
	client   *http.Client
	now      func() time.Time
}

var _ relay.Sender = (*Sender)(nil)

// New returns a Sender for cfg. A nil client means a default HTTP/2 client
// with a 15-second timeout.
func New(cfg Config, client *http.Client) (*Sender, error) {
	if cfg.AppSecret == "" || cfg.PackageName == "" {
		return nil, errors.New("xiaomi: AppSecret and PackageName are required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.HighPriorityChannelID == "" {
		cfg.HighPriorityChannelID = cfg.ChannelID
	}
	if cfg.NotifyType == 0 {
		cfg.NotifyType = notifyTypeAll
	}
	if client == nil {
		client = sendkit.NewClient()
	}
	return &Sender{
		cfg:      cfg,
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/v3/message/regid",
		client:   client,
		now:      time.Now,
	}, nil
}

// Vendor returns "xiaomi".
func (s *Sender) Vendor() string { return Vendor }

// Send pushes m to one registration id.
func (s *Sender) Send(ctx context.Context, m *relay.Message) (relay.Result, error) {
	if err := sendkit.DeadToken(Vendor, m); err != nil {
		return relay.Result{}, err
	}
	ttl, err := sendkit.Remaining(m, s.now())
	if err != nil {
		return relay.Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(s.form(m, ttl).Encode()))
	if err != nil {
		return relay.Result{}, err
	}
	req.Header.Set("Authorization", "key="+s.cfg.AppSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	resp, err := s.client.Do(req)
	if err != nil {
		return relay.Result{}, sendkit.TransportError(ctx, Vendor, err)
	}
	defer resp.Body.Close()
	body, err := sendkit.ReadBody(resp.Body)
	if err != nil {
		return relay.Result{}, sendkit.TransportError(ctx, Vendor, err)
	}
	return parseSend(resp.StatusCode, resp.Header, body, m.Token, s.now())
}

func (s *Sender) form(m *relay.Message, ttl time.Duration) url.Values {
	f := url.Values{}
	for k, v := range m.Data {
		f.Set("extra."+k, v)
	}
	f.Set("registration_id", m.Token)
	f.Set("restricted_package_name", s.cfg.PackageName)
	f.Set("title", m.Title)
	f.Set("description", m.Body)
	f.Set("notify_type", strconv.Itoa(s.cfg.NotifyType))
	if m.Background {
		f.Set("pass_through", "1")
		if len(m.Data) > 0 {
			payload, _ := json.Marshal(m.Data)
			f.Set("payload", string(payload))
		}
	} else {
		f.Set("pass_through", "0")
	}
	if ttl = sendkit.Clamp(ttl, time.Millisecond, maxTTL); ttl > 0 {
		f.Set("time_to_live", strconv.FormatInt(ttl.Milliseconds(), 10))
	}
	f.Set("notify_id", strconv.Itoa(notifyID(m)))
	channel := s.cfg.ChannelID
	if m.HighPriority {
		channel = s.cfg.HighPriorityChannelID
	}
	if channel != "" {
		f.Set("extra.channel_id", channel)
	}
	return f
}

// notifyID keeps notifications with one CollapseID in one slot and gives
// every other push its own.
func notifyID(m *relay.Message) int {
	switch {
	case m.CollapseID != "":
		return sendkit.NotifyID("collapse:" + m.CollapseID)
	case m.PushID != "":
		return sendkit.NotifyID("push:" + m.PushID)
	default:
		return sendkit.NotifyID("body:" + m.Title + "\x00" + m.Body)
	}
}
