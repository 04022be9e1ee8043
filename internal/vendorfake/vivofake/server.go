package vivofake

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/fakekit"
)

// vivo Push result codes the fake uses.
const (
	CodeOK              = 0
	CodeAuthFailed      = 10000
	CodeEmptyRegID      = 10050
	CodeBadNotifyType   = 10054
	CodeEmptyTitle      = 10055
	CodeTitleTooLong    = 10056
	CodeEmptyContent    = 10057
	CodeContentTooLong  = 10058
	CodeBadTimeToLive   = 10059
	CodeBadSkipType     = 10060
	CodeQuotaExceeded   = 10070
	CodeOutsideHours    = 10071
	CodeTooFast         = 10072
	CodeSystemQuota     = 10073
	CodeAppKeyInvalid   = 10202
	CodeAppIDUnknown    = 10205
	CodeSignInvalid     = 10206
	CodeTimestampBad    = 10207
	CodeRegIDInvalid    = 10302
	CodeEmptyRequestID  = 10352
	CodeRequestIDTooBig = 10353
)

// Config is the app the fake serves.
type Config struct {
	AppID     string // the numeric appId the fake accepts
	AppKey    string // the appKey the fake accepts
	AppSecret string // the secret auth signatures are checked with
}

// Fault returns a fault answering vivo result code with the desc text.
func Fault(code int, desc string) vendorfake.Fault {
	return vendorfake.Fault{Reason: strconv.Itoa(code), Message: desc}
}

// RegIDInvalid is vivo's answer for a regId that no longer exists
// (uninstalled, unsubscribed, data cleared).
func RegIDInvalid() vendorfake.Fault { return Fault(CodeRegIDInvalid, "regId 不合法") }

// Message is one accepted push.
type Message struct {
	TaskID          string            `json:"-"`               // the taskId the fake answered with
	RegID           string            `json:"regId"`           // regId
	NotifyType      int               `json:"notifyType"`      // notifyType (1-4)
	Title           string            `json:"title"`           // title
	Content         string            `json:"content"`         // content
	TimeToLive      int               `json:"timeToLive"`      // timeToLive in seconds; 0 when absent
	SkipType        int               `json:"skipType"`        // skipType (1-4)
	SkipContent     string            `json:"skipContent"`     // skipContent
	Classification  int               `json:"classification"`  // classification (0 operational, 1 system)
	NotifyID        int               `json:"notifyId"`        // notifyId; 0 when absent
	ClientCustomMap map[string]string `json:"clientCustomMap"` // clientCustomMap
	RequestID       string            `json:"requestId"`       // requestId
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
	mux.HandleFunc("POST /message/auth", s.handleAuth)
	mux.HandleFunc("POST /message/send", s.handleSend)
	s.srv = vendorfake.NewServer(mux, nil)
	return s
}

// URL is the base URL to configure the sender with.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP/2 client that trusts the fake's certificate.
func (s *Server) Client() *http.Client { return vendorfake.Client(s.srv) }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// ExpireAccessTokens makes every authToken issued so far invalid (result
// 10000).
func (s *Server) ExpireAccessTokens() { s.tokens.ExpireAll() }

// AccessTokens returns how many authTokens the fake issued.
func (s *Server) AccessTokens() int { return s.tokens.Issued() }
