package honorfake

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/fakekit"
)

// Honor Push codes the fake uses.
const (
	CodeOK                = 200
	CodeAuthFailed        = 403
	CodeEmptyTimestamp    = 10001
	CodeAppIDUnknown      = 10205
	CodeBadTimestamp      = 10207
	CodeEmptyToken        = 10300
	CodePartialSuccess    = 80100000
	CodeBadStructure      = 80100003
	CodeDuplicateTokens   = 80300006
	CodeAllTokensInvalid  = 80300007
	CodeMessageTooLarge   = 80300008
	CodeTooManyTokens     = 80300010
	CodeInternal          = 81000001
	defaultTokenLifetime  = time.Hour
	maxMessageBytes       = 4096
	maxTTLSeconds         = 15 * 24 * 3600
	maxTokensPerMessage   = 1000
	maxRequestBytes       = 256 << 10
	timestampSkew         = 10 * time.Minute
	httpStatusAuthRefused = http.StatusForbidden
)

// Config is the app the fake serves.
type Config struct {
	AppID        string // the app id in the send path
	ClientID     string // the OAuth client id the fake accepts
	ClientSecret string // the OAuth client secret the fake accepts
	// TokenLifetime is the expires_in of issued tokens; default one hour.
	TokenLifetime time.Duration
}

// Reasons for partial-success faults that list the push token.
const (
	// ReasonExpiredToken answers code 80100000 with the token in
	// data.expireTokens.
	ReasonExpiredToken = "expireTokens"
	// ReasonFailedToken answers code 80100000 with the token in
	// data.failTokens.
	ReasonFailedToken = "failTokens"
)

// Fault returns a fault answering Honor code with the message text.
func Fault(code int, message string) vendorfake.Fault {
	return vendorfake.Fault{Reason: strconv.Itoa(code), Message: message}
}

// AllTokensInvalid is Honor's answer when every push token is invalid.
func AllTokensInvalid() vendorfake.Fault {
	return Fault(CodeAllTokensInvalid, "all the tokens are invalid")
}

// ExpiredToken is a partial-success answer listing the token as expired.
func ExpiredToken() vendorfake.Fault {
	return vendorfake.Fault{Reason: ReasonExpiredToken, Message: "some tokens are expired"}
}

// ClickAction is what a tap on the notification does.
type ClickAction struct {
	Type   int    `json:"type"`             // 1 intent, 2 URL, 3 open the app
	Intent string `json:"intent,omitempty"` // intent for type 1
	URL    string `json:"url,omitempty"`    // URL for type 2
	Action string `json:"action,omitempty"` // action for type 1
}

// AndroidNotification is the android.notification object.
type AndroidNotification struct {
	Title       string       `json:"title"`                 // title
	Body        string       `json:"body"`                  // body
	Importance  string       `json:"importance,omitempty"`  // LOW or NORMAL
	NotifyID    *int         `json:"notifyId,omitempty"`    // notifyId; nil when absent
	Tag         string       `json:"tag,omitempty"`         // tag
	ClickAction *ClickAction `json:"clickAction,omitempty"` // clickAction, required
}

// Android is the android object.
type Android struct {
	TTL          string               `json:"ttl,omitempty"`          // ttl, "<seconds>s"
	BiTag        string               `json:"biTag,omitempty"`        // biTag
	Data         string               `json:"data,omitempty"`         // data
	Notification *AndroidNotification `json:"notification,omitempty"` // notification
}

// Notification is the top-level notification object.
type Notification struct {
	Title string `json:"title"`           // title
	Body  string `json:"body"`            // body
	Image string `json:"image,omitempty"` // image URL
}

// Message is one accepted push as sent to sendMessage.
type Message struct {
	RequestID    string        `json:"-"`                      // the requestId the fake answered with
	Data         string        `json:"data,omitempty"`         // data
	Notification *Notification `json:"notification,omitempty"` // notification
	Android      *Android      `json:"android,omitempty"`      // android
	Token        []string      `json:"token"`                  // token, the push tokens
	// TTL is android.ttl parsed; zero when absent.
	TTL time.Duration `json:"-"`
}

// Server is a running fake.
type Server struct {
	vendorfake.Script
	vendorfake.Recorder[Message]

	cfg    Config
	srv    *httptest.Server
	now    func() time.Time
	tokens fakekit.Issuer
}

// New starts a fake for cfg on 127.0.0.1 with a random port.
func New(cfg Config) *Server {
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = defaultTokenLifetime
	}
	s := &Server{cfg: cfg, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/token", s.handleToken)
	mux.HandleFunc("POST /oauth2/v3/token", s.handleToken)
	mux.HandleFunc("POST /api/v1/{appID}/sendMessage", s.handleSend)
	s.srv = vendorfake.NewServer(mux, nil)
	return s
}

// URL is the base URL of the push API.
func (s *Server) URL() string { return s.srv.URL }

// TokenURL is the token endpoint.
func (s *Server) TokenURL() string { return s.srv.URL + "/auth/token" }

// Client returns an HTTP/2 client that trusts the fake's certificate.
func (s *Server) Client() *http.Client { return vendorfake.Client(s.srv) }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// ExpireAccessTokens makes every access token issued so far invalid.
func (s *Server) ExpireAccessTokens() { s.tokens.ExpireAll() }

// AccessTokens returns how many access tokens the fake issued.
func (s *Server) AccessTokens() int { return s.tokens.Issued() }
