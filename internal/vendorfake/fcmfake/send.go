package fcmfake

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
)

// FCM limits from the HTTP v1 reference.
const (
	maxPayload = 4096           // notification and data, in bytes
	maxTTL     = 28 * 24 * 3600 // android.ttl, in seconds
	maxBody    = 1 << 20
	maxToken   = 4096
)

var (
	ttlRE   = regexp.MustCompile(`^([0-9]+)(\.[0-9]{1,9})?s$`)
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9_:\-]+$`)
)

// sendRequest is the messages:send body. Fields the fake does not model
// are accepted as raw JSON; unknown fields are refused as FCM refuses them.
type sendRequest struct {
	ValidateOnly bool         `json:"validate_only"`
	Message      *wireMessage `json:"message"`
}

type wireMessage struct {
	Name         string            `json:"name"`
	Token        string            `json:"token"`
	Topic        string            `json:"topic"`
	Condition    string            `json:"condition"`
	Notification *Notification     `json:"notification"`
	Data         map[string]string `json:"data"`
	Android      *wireAndroid      `json:"android"`
	APNS         json.RawMessage   `json:"apns"`
	Webpush      json.RawMessage   `json:"webpush"`
	FCMOptions   json.RawMessage   `json:"fcm_options"`
}

type wireAndroid struct {
	AndroidConfig
	Data         map[string]string `json:"data"`
	Notification json.RawMessage   `json:"notification"`
	FCMOptions   json.RawMessage   `json:"fcm_options"`
	DirectBootOK bool              `json:"direct_boot_ok"`
}

// fcmError is a refusal: HTTP status, FcmError errorCode (may be empty),
// message, and the offending field.
type fcmError struct {
	status  int
	code    string
	message string
	field   string
}

func invalid(field, msg string) *fcmError {
	return &fcmError{status: http.StatusBadRequest, code: "INVALID_ARGUMENT", message: msg, field: field}
}

func (s *Server) serveSend(w http.ResponseWriter, r *http.Request) {
	s.Hit()
	if r.Method != http.MethodPost {
		writeStatus(w, &fcmError{status: http.StatusMethodNotAllowed, message: "Method not allowed."}, vendorfake.Fault{})
		return
	}
	if e := s.authorize(r); e != nil {
		writeStatus(w, e, vendorfake.Fault{})
		return
	}
	req, e := decodeSend(r)
	if e == nil {
		e = checkMessage(req.Message)
	}
	if e != nil {
		writeStatus(w, e, vendorfake.Fault{})
		return
	}
	if f, ok := s.TakeFault(req.Message.Token); ok {
		writeStatus(w, faultError(f), f)
		return
	}
	name := fmt.Sprintf("projects/%s/messages/", r.PathValue("project"))
	if req.ValidateOnly {
		name += "fake_message_id"
	} else {
		name += fmt.Sprintf("0:%d%%%s", time.Now().UnixMicro(), strings.ToLower(rand.Text()[:16]))
		s.Accept(record(name, req.Message))
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]string{"name": name}) //nolint:errcheck // the client went away
}

func (s *Server) authorize(r *http.Request) *fcmError {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	project, ok := s.tokenProject(tok)
	if !strings.EqualFold(scheme, "bearer") || !ok {
		return &fcmError{status: http.StatusUnauthorized, message: "Request had invalid authentication credentials. " +
			"Expected OAuth 2 access token, login cookie or other valid authentication credential."}
	}
	if project != r.PathValue("project") {
		return &fcmError{status: http.StatusForbidden,
			message: "Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/" +
				r.PathValue("project") + "' (or it may not exist)."}
	}
	return nil
}

func decodeSend(r *http.Request) (*sendRequest, *fcmError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, invalid("", "Could not read the request body.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req sendRequest
	if err := dec.Decode(&req); err != nil {
		return nil, &fcmError{status: http.StatusBadRequest, message: "Invalid JSON payload received. " + err.Error()}
	}
	if req.Message == nil {
		return nil, invalid("message", "Request contains an invalid argument.")
	}
	return &req, nil
}

func checkMessage(m *wireMessage) *fcmError {
	targets := 0
	for _, t := range []string{m.Token, m.Topic, m.Condition} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		return invalid("message", "Exactly one of token, topic or condition must be specified.")
	}
	if m.Topic != "" || m.Condition != "" {
		return invalid("message", "The fake supports token targets only.")
	}
	if len(m.Token) > maxToken || !tokenRE.MatchString(m.Token) {
		return invalid("message.token", "The registration token is not a valid FCM registration token")
	}
	if e := checkData("message.data", m.Data); e != nil {
		return e
	}
	if e := checkAndroid(m.Android); e != nil {
		return e
	}
	size, _ := json.Marshal(struct {
		N *Notification     `json:"notification,omitempty"`
		D map[string]string `json:"data,omitempty"`
	}{m.Notification, m.Data})
	if len(size) > maxPayload {
		return invalid("message", "Android message is too big")
	}
	return nil
}

// checkData refuses the keys FCM reserves.
func checkData(field string, data map[string]string) *fcmError {
	for k := range data {
		lk := strings.ToLower(k)
		if lk == "from" || lk == "notification" || lk == "message_type" ||
			strings.HasPrefix(lk, "google") || strings.HasPrefix(lk, "gcm") {
			return invalid(field, "Invalid data payload key: "+k)
		}
	}
	return nil
}

func checkAndroid(a *wireAndroid) *fcmError {
	if a == nil {
		return nil
	}
	switch a.Priority {
	case "", "NORMAL", "HIGH":
	default:
		return invalid("message.android.priority", "Invalid value at 'message.android.priority'")
	}
	if a.TTL != "" {
		m := ttlRE.FindStringSubmatch(a.TTL)
		if m == nil {
			return invalid("message.android.ttl", "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)")
		}
		if secs, err := strconv.ParseInt(m[1], 10, 64); err != nil || secs > maxTTL {
			return invalid("message.android.ttl", "Android TTL must be between 0 and 4 weeks")
		}
	}
	return checkData("message.android.data", a.Data)
}

func record(name string, m *wireMessage) Message {
	out := Message{Name: name, Token: m.Token, Notification: m.Notification, Data: m.Data}
	if m.Android != nil {
		a := m.Android.AndroidConfig
		out.Android = &a
	}
	return out
}

// faultStatus is the HTTP status FCM documents for each errorCode.
var faultStatus = map[string]int{
	"UNREGISTERED":           http.StatusNotFound,
	"INVALID_ARGUMENT":       http.StatusBadRequest,
	"SENDER_ID_MISMATCH":     http.StatusForbidden,
	"QUOTA_EXCEEDED":         http.StatusTooManyRequests,
	"UNAVAILABLE":            http.StatusServiceUnavailable,
	"INTERNAL":               http.StatusInternalServerError,
	"THIRD_PARTY_AUTH_ERROR": http.StatusUnauthorized,
}

func faultError(f vendorfake.Fault) *fcmError {
	e := &fcmError{status: f.Status, code: f.Reason, message: f.Message}
	if e.status == 0 {
		e.status = faultStatus[f.Reason]
	}
	if e.status == 0 {
		e.status = http.StatusInternalServerError
	}
	if e.message == "" {
		e.message = defaultMessage(e.code, e.status)
	}
	return e
}

func defaultMessage(code string, status int) string {
	switch code {
	case "UNREGISTERED":
		return "Requested entity was not found."
	case "SENDER_ID_MISMATCH":
		return "SenderId mismatch"
	case "INVALID_ARGUMENT":
		return "The registration token is not a valid FCM registration token"
	}
	return http.StatusText(status)
}

// rpcStatus maps HTTP statuses to google.rpc.Code names.
func rpcStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	case http.StatusInternalServerError:
		return "INTERNAL"
	}
	return "UNKNOWN"
}

// writeStatus writes a google.rpc.Status error body, with an FcmError
// detail when e has an errorCode and a BadRequest detail when it names a
// field.
func writeStatus(w http.ResponseWriter, e *fcmError, f vendorfake.Fault) {
	var details []map[string]any
	if e.code != "" {
		details = append(details, map[string]any{
			"@type":     "type.googleapis.com/google.firebase.fcm.v1.FcmError",
			"errorCode": e.code,
		})
	}
	if e.field != "" {
		details = append(details, map[string]any{
			"@type":           "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": []map[string]string{{"field": e.field, "description": e.message}},
		})
	}
	body := map[string]any{"code": e.status, "message": e.message, "status": rpcStatus(e.status)}
	if details != nil {
		body["details"] = details
	}
	f.SetRetryAfter(w.Header())
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]any{"error": body}) //nolint:errcheck // the client went away
}
