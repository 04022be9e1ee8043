package wns

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/fnv"
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
const Vendor = "wns"

const (
	// DefaultTokenURL is the WNS token endpoint.
	DefaultTokenURL = "https://login.live.com/accesstoken.srf"
	// DefaultScope is the scope WNS tokens need.
	DefaultScope = "notify.windows.com"
	// channelDomain is the domain every WNS channel URI is under.
	channelDomain = ".notify.windows.com"
	// maxPayload is WNS's limit for a notification body in bytes.
	maxPayload = 5000
	maxTagLen  = 16
)

// Config is one app's WNS credentials.
type Config struct {
	// PackageSID is the OAuth client id, "ms-app://S-1-15-2-...". Required.
	PackageSID string
	// ClientSecret is the app's client secret. Required.
	ClientSecret string
	// TokenURL is the OAuth token endpoint; default DefaultTokenURL.
	TokenURL string
	// Scope is the OAuth scope; default DefaultScope.
	Scope string
	// AllowedHosts are extra channel URI hosts (host:port) besides
	// *.notify.windows.com; default none. Meant for a local fake in tests.
	AllowedHosts []string
}

// Option changes how New builds a Sender.
type Option func(*Sender)

// WithSharedTokens keeps the access token in shared, so that the instances
// of a cluster sending for one app fetch it once (default: each sender
// fetches its own).
func WithSharedTokens(shared sendkit.SharedTokens) Option {
	return func(s *Sender) { s.shared = shared }
}

// Sender sends through WNS for one app.
type Sender struct {
	cfg     Config
	allowed map[string]bool
	client  *http.Client
	now     func() time.Time
	shared  sendkit.SharedTokens
	tokens  *sendkit.TokenCache
}

var _ relay.Sender = (*Sender)(nil)

// New returns a Sender for cfg. A nil client means a default HTTP/2 client
// with a 15-second timeout; it is used for the token endpoint too.
func New(cfg Config, client *http.Client, opts ...Option) (*Sender, error) {
	if cfg.PackageSID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("wns: PackageSID and ClientSecret are required")
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	if client == nil {
		client = sendkit.NewClient()
	}
	s := &Sender{cfg: cfg, allowed: make(map[string]bool), client: client, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	for _, h := range cfg.AllowedHosts {
		s.allowed[strings.ToLower(h)] = true
	}
	oauth := &clientcredentials.Config{
		ClientID:     cfg.PackageSID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     cfg.TokenURL,
		Scopes:       []string{cfg.Scope},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	key := sendkit.TokenKey(Vendor, cfg.PackageSID, cfg.TokenURL, cfg.Scope, cfg.ClientSecret)
	s.tokens = sendkit.NewSharedTokenCache(sendkit.OAuthFetcher(Vendor, oauth, client, s.now), s.now, s.shared, key)
	return s, nil
}

// Vendor returns "wns".
func (s *Sender) Vendor() string { return Vendor }

// Send pushes m to the channel URI in m.Token.
func (s *Sender) Send(ctx context.Context, m *relay.Message) (relay.Result, error) {
	if err := sendkit.DeadToken(Vendor, m); err != nil {
		return relay.Result{}, err
	}
	channel, err := s.channel(m.Token)
	if err != nil {
		return relay.Result{}, err
	}
	ttl, err := sendkit.Remaining(m, s.now())
	if err != nil {
		return relay.Result{}, err
	}
	n, err := build(m, ttl)
	if err != nil {
		return relay.Result{}, err
	}
	return sendkit.SendWithToken(ctx, s.tokens, func(ctx context.Context, tok string) (relay.Result, error) {
		return s.post(ctx, channel, tok, n)
	})
}

// channel checks that the channel URI is one the bearer token may go to.
func (s *Sender) channel(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", &relay.DeadTokenError{Vendor: Vendor, Reason: "channel URI does not parse"}
	case u.Scheme != "https" || u.User != nil || u.Host == "":
		return "", &relay.DeadTokenError{Vendor: Vendor, Reason: "channel URI is not a plain https URI"}
	case s.allowed[strings.ToLower(u.Host)]:
		return raw, nil
	case u.Port() == "" && strings.HasSuffix(strings.ToLower(u.Hostname()), channelDomain):
		return raw, nil
	default:
		return "", &relay.DeadTokenError{Vendor: Vendor, Reason: "channel URI host is not under notify.windows.com"}
	}
}

// notification is a built WNS request without credentials.
type notification struct {
	kind        string
	contentType string
	body        []byte
	ttl         time.Duration
	tag         string
	priority    string
}

type binding struct {
	Template string   `xml:"template,attr"`
	Text     []string `xml:"text"`
}

type toast struct {
	XMLName xml.Name `xml:"toast"`
	Launch  string   `xml:"launch,attr,omitempty"`
	Binding binding  `xml:"visual>binding"`
}

func build(m *relay.Message, ttl time.Duration) (notification, error) {
	n := notification{ttl: ttl}
	var err error
	if m.Background {
		n.kind, n.contentType = "wns/raw", "application/octet-stream"
		data := m.Data
		if data == nil {
			data = map[string]string{}
		}
		n.body, err = json.Marshal(data)
	} else {
		n.kind, n.contentType = "wns/toast", "text/xml"
		n.tag = tag(m.CollapseID)
		if m.HighPriority {
			n.priority = "1"
		}
		launch := url.Values{}
		for k, v := range m.Data {
			launch.Set(k, v)
		}
		n.body, err = xml.Marshal(toast{
			Launch:  launch.Encode(),
			Binding: binding{Template: "ToastGeneric", Text: []string{m.Title, m.Body}},
		})
	}
	if err != nil {
		return n, fmt.Errorf("wns: encode notification: %w", relay.ErrRejected)
	}
	if len(n.body) > maxPayload {
		return n, fmt.Errorf("wns: payload of %d bytes over the 5000-byte limit: %w", len(n.body), relay.ErrRejected)
	}
	return n, nil
}

// tag returns a collapse id WNS accepts as X-WNS-Tag: itself if it is short
// printable ASCII, a 16-hex-digit hash otherwise.
func tag(collapse string) string {
	if collapse == "" {
		return ""
	}
	ok := len(collapse) <= maxTagLen
	for i := 0; ok && i < len(collapse); i++ {
		ok = collapse[i] > 0x20 && collapse[i] < 0x7f
	}
	if ok {
		return collapse
	}
	h := fnv.New64a()
	h.Write([]byte(collapse))
	return fmt.Sprintf("%016x", h.Sum64())
}

func (s *Sender) post(ctx context.Context, channel, tok string, n notification) (relay.Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, channel, bytes.NewReader(n.body))
	if err != nil {
		return relay.Result{}, &relay.DeadTokenError{Vendor: Vendor, Reason: "channel URI unusable"}
	}
	h := req.Header
	h.Set("Authorization", "Bearer "+tok)
	h.Set("Content-Type", n.contentType)
	h.Set("X-WNS-Type", n.kind)
	if n.ttl > 0 {
		h.Set("X-WNS-TTL", strconv.FormatInt(int64(n.ttl/time.Second), 10))
	}
	if n.tag != "" {
		h.Set("X-WNS-Tag", n.tag)
	}
	if n.priority != "" {
		h.Set("X-WNS-Priority", n.priority)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return relay.Result{}, sendkit.TransportError(ctx, Vendor, err)
	}
	defer resp.Body.Close()
	_, _ = sendkit.ReadBody(resp.Body)
	return parseSend(resp.StatusCode, resp.Header, s.now())
}
