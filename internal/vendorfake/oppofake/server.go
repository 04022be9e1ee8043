package oppofake

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/fakekit"
)

// OPPO Push return codes the fake uses.
const (
	CodeOK                    = 0
	CodeFlowControl           = -2
	CodeUnavailable           = -1
	CodeInvalidAuthToken      = 11
	CodeCallLimited           = 13
	CodeInvalidAppKey         = 14
	CodeInvalidSignature      = 16
	CodeMissingTimestamp      = 18
	CodeInvalidTimestamp      = 19
	CodeAppDisabled           = 28
	CodeMissingAuthToken      = 29
	CodeDailyLimit            = 33
	CodeMissingArguments      = 40
	CodeInvalidArguments      = 41
	CodeFrequencyLimit        = 55
	CodeInvalidRegistrationID = 10000
)

// Config is the app the fake serves.
type Config struct {
	AppKey       string // the app_key the fake accepts
	MasterSecret string // the master secret auth signatures are checked with
}

// Fault returns a fault answering OPPO code with the message text.
func Fault(code int, message string) vendorfake.Fault {
	return vendorfake.Fault{Reason: strconv.Itoa(code), Message: message}
}

// InvalidRegistrationID is OPPO's answer for a dead registration id.
func InvalidRegistrationID() vendorfake.Fault {
	return Fault(CodeInvalidRegistrationID, "Invalid Registration_id")
}

// Notification is the notification object of an accepted push.
type Notification struct {
	Title            string `json:"title"`             // title
	SubTitle         string `json:"sub_title"`         // sub_title
	Content          string `json:"content"`           // content
	ClickActionType  int    `json:"click_action_type"` // click_action_type
	ActionParameters string `json:"action_parameters"` // action_parameters, a JSON string
	OffLine          *bool  `json:"off_line"`          // off_line; nil when absent
	OffLineTTL       int    `json:"off_line_ttl"`      // off_line_ttl in seconds; 0 when absent
	ChannelID        string `json:"channel_id"`        // channel_id
	NotifyID         *int   `json:"notify_id"`         // notify_id; nil when absent
}

// Message is one accepted push.
type Message struct {
	ID           string       // the messageId the fake answered with
	TargetType   int          // target_type (2: registration id)
	TargetValue  string       // target_value, the registration id
	Notification Notification // notification
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
	s := &Server{cfg: cfg, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /server/v1/auth", s.handleAuth)
	mux.HandleFunc("POST /server/v1/message/notification/unicast", s.handleUnicast)
	s.srv = vendorfake.NewServer(mux, nil)
	return s
}

// URL is the base URL to configure the sender with.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP/2 client that trusts the fake's certificate.
func (s *Server) Client() *http.Client { return vendorfake.Client(s.srv) }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// ExpireAccessTokens makes every auth_token issued so far invalid (code 11).
func (s *Server) ExpireAccessTokens() { s.tokens.ExpireAll() }

// AccessTokens returns how many auth tokens the fake issued.
func (s *Server) AccessTokens() int { return s.tokens.Issued() }
