package xiaomifake

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
)

// MiPush result codes the fake uses.
const (
	// CodeOK is success.
	CodeOK = 0
	// CodeMissingParam means a required parameter is missing.
	CodeMissingParam = 10016
	// CodeBadParam means a parameter value is invalid.
	CodeBadParam = 10017
	// CodeTooFrequent means the API is called too often.
	CodeTooFrequent = 10027
	// CodeSendFailed ("发送消息失败") with reason "No valid targets!" is the
	// answer for a registration id that no longer exists.
	CodeSendFailed = 20301
	// CodeAuthFailed ("认证失败") means the AppSecret is wrong.
	CodeAuthFailed = 21301
	// CodeBadPackage means restricted_package_name does not match the app.
	CodeBadPackage = 22022
	// CodeTooLong means the message is too long.
	CodeTooLong = 65009
	// CodeInvalidRegID means the registration id is malformed.
	CodeInvalidRegID = 66007
	// CodeDailyQuota means the app's daily push quota is used up.
	CodeDailyQuota = 200001
	// CodeQPSQuota means the app's push rate limit is exceeded.
	CodeQPSQuota = 200002
)

// Config is the app the fake serves.
type Config struct {
	// AppSecret is the secret expected in "Authorization: key=...".
	AppSecret string
	// PackageName is the only restricted_package_name accepted.
	PackageName string
}

// Fault returns a fault answering MiPush code with the reason text.
func Fault(code int, reason string) vendorfake.Fault {
	return vendorfake.Fault{Reason: strconv.Itoa(code), Message: reason}
}

// NoValidTargets is the answer MiPush gives for a dead registration id.
func NoValidTargets() vendorfake.Fault { return Fault(CodeSendFailed, "No valid targets!") }

// InvalidRegID is the answer for a malformed registration id.
func InvalidRegID() vendorfake.Fault { return Fault(CodeInvalidRegID, "Invalid regId") }

// Message is one accepted push as the fake parsed it.
type Message struct {
	ID             string // the message id the fake answered with
	RegistrationID string // registration_id
	PackageName    string // restricted_package_name
	Title          string // title
	Description    string // description, the notification text
	Payload        string // payload
	PassThrough    bool   // pass_through is 1
	NotifyType     int    // notify_type; -1 when absent
	// NotifyID is the notify_id field; -1 when absent.
	NotifyID int
	// TimeToLive is time_to_live; zero when absent.
	TimeToLive time.Duration
	// Extra holds the extra.* fields without the prefix.
	Extra map[string]string
}

// Server is a running fake.
type Server struct {
	vendorfake.Script
	vendorfake.Recorder[Message]

	cfg Config
	srv *httptest.Server
}

// New starts a fake for cfg on 127.0.0.1 with a random port.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/message/regid", s.handleRegID)
	s.srv = vendorfake.NewServer(mux, nil)
	return s
}

// URL is the base URL to configure the sender with.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP/2 client that trusts the fake's certificate.
func (s *Server) Client() *http.Client { return vendorfake.Client(s.srv) }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }
