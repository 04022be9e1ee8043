package apnsfake

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

// APNs limits and defaults from Apple's provider API documentation.
const (
	maxPayload      = 4096
	maxVoIPPayload  = 5120
	maxCollapseID   = 64
	providerTokenTL = time.Hour
)

// apnsError is an APNs refusal: status and reason.
type apnsError struct {
	status int
	reason string
}

func refuse(status int, reason string) *apnsError { return &apnsError{status, reason} }

// statusFor is the status APNs documents for each reason.
func statusFor(reason string) int {
	switch reason {
	case "BadCertificate", "BadCertificateEnvironment", "ExpiredProviderToken", "Forbidden",
		"InvalidProviderToken", "MissingProviderToken", "UnrelatedKeyIdInToken":
		return http.StatusForbidden
	case "BadPath":
		return http.StatusNotFound
	case "MethodNotAllowed":
		return http.StatusMethodNotAllowed
	case "ExpiredToken", "Unregistered":
		return http.StatusGone
	case "PayloadTooLarge":
		return http.StatusRequestEntityTooLarge
	case "TooManyProviderTokenUpdates", "TooManyRequests":
		return http.StatusTooManyRequests
	case "InternalServerError":
		return http.StatusInternalServerError
	case "ServiceUnavailable", "Shutdown":
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

var (
	hexToken = regexp.MustCompile(`^(?:[0-9a-fA-F]{2}){8,100}$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// pushTypes are the apns-push-type values Apple documents.
	pushTypes = map[string]bool{"alert": true, "background": true, "location": true, "voip": true,
		"complication": true, "fileprovider": true, "mdm": true, "liveactivity": true,
		"pushtotalk": true, "widgets": true, "controls": true}
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	token, isPush := strings.CutPrefix(r.URL.Path, "/3/device/")
	if !isPush {
		writeError(w, refuse(http.StatusNotFound, "BadPath"), vendorfake.Fault{})
		return
	}
	s.Hit()
	if r.Method != http.MethodPost {
		writeError(w, refuse(http.StatusMethodNotAllowed, "MethodNotAllowed"), vendorfake.Fault{})
		return
	}
	req := &request{n: Notification{Token: token}}
	if e := s.check(r, req); e != nil {
		writeError(w, e, vendorfake.Fault{})
		return
	}
	if f, ok := s.TakeFault(token); ok {
		status := f.Status
		if status == 0 {
			status = statusFor(f.Reason)
		}
		writeError(w, refuse(status, f.Reason), f)
		return
	}
	req.n.ApnsID = r.Header.Get("apns-id")
	if req.n.ApnsID == "" {
		req.n.ApnsID = newUUID()
	}
	s.Accept(req.n)
	w.Header().Set("apns-id", req.n.ApnsID)
	w.WriteHeader(http.StatusOK)
}

// check runs the validations in the order APNs reports them: credentials,
// then device token and topic, then headers, then the payload.
func (s *Server) check(r *http.Request, req *request) *apnsError {
	if e := s.authenticate(r, req); e != nil {
		return e
	}
	if req.n.Token == "" {
		return refuse(http.StatusBadRequest, "MissingDeviceToken")
	}
	if !hexToken.MatchString(req.n.Token) {
		return refuse(http.StatusBadRequest, "BadDeviceToken")
	}
	if e := s.checkTopic(r, req); e != nil {
		return e
	}
	if e := checkHeaders(r.Header, &req.n); e != nil {
		return e
	}
	return readPayload(r, req)
}

func (s *Server) authenticate(r *http.Request, req *request) *apnsError {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		topic, err := s.certTopic(r.TLS.PeerCertificates)
		if err != nil {
			return refuse(http.StatusForbidden, "BadCertificate")
		}
		req.n.Auth, req.n.Topic = "certificate", topic
		return nil
	}
	auth := r.Header.Get("authorization")
	if auth == "" {
		return refuse(http.StatusForbidden, "MissingProviderToken")
	}
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return refuse(http.StatusForbidden, "InvalidProviderToken")
	}
	return s.checkProviderToken(tok, req)
}

func (s *Server) checkProviderToken(tok string, req *request) *apnsError {
	j, err := vendorfake.ParseJWT(tok)
	if err != nil {
		return refuse(http.StatusForbidden, "InvalidProviderToken")
	}
	s.mu.RLock()
	key, known := s.keys[j.HeaderString("kid")]
	s.mu.RUnlock()
	if !known || j.ClaimString("iss") != key.teamID || j.VerifyES256(key.pub) != nil {
		return refuse(http.StatusForbidden, "InvalidProviderToken")
	}
	iat, ok := j.ClaimInt("iat")
	if !ok {
		return refuse(http.StatusForbidden, "InvalidProviderToken")
	}
	if s.cfg.Now().Sub(time.Unix(iat, 0)) > providerTokenTL {
		return refuse(http.StatusForbidden, "ExpiredProviderToken")
	}
	s.mu.Lock()
	s.bearer[tok] = true
	s.mu.Unlock()
	req.n.Auth, req.n.TeamID = "token", key.teamID
	return nil
}

func (s *Server) checkTopic(r *http.Request, req *request) *apnsError {
	topic := r.Header.Get("apns-topic")
	if req.n.Auth == "certificate" {
		if topic != "" && topic != req.n.Topic {
			return refuse(http.StatusBadRequest, "TopicDisallowed")
		}
		return nil
	}
	if topic == "" {
		return refuse(http.StatusBadRequest, "MissingTopic")
	}
	if !s.topicAllowed(topic) {
		return refuse(http.StatusBadRequest, "TopicDisallowed")
	}
	req.n.Topic = topic
	return nil
}

func checkHeaders(h http.Header, n *Notification) *apnsError {
	n.PushType = h.Get("apns-push-type")
	if n.PushType == "" {
		n.PushType = "alert"
	}
	if !pushTypes[n.PushType] {
		return refuse(http.StatusBadRequest, "InvalidPushType")
	}
	n.Priority = 10
	if p := h.Get("apns-priority"); p != "" {
		v, err := strconv.Atoi(p)
		if err != nil || (v != 1 && v != 5 && v != 10) {
			return refuse(http.StatusBadRequest, "BadPriority")
		}
		n.Priority = v
	}
	if n.PushType == "background" && n.Priority == 10 {
		return refuse(http.StatusBadRequest, "BadPriority")
	}
	if e := h.Get("apns-expiration"); e != "" {
		v, err := strconv.ParseInt(e, 10, 64)
		if err != nil || v < 0 {
			return refuse(http.StatusBadRequest, "BadExpirationDate")
		}
		n.Expiration = v
	}
	n.CollapseID = h.Get("apns-collapse-id")
	if len(n.CollapseID) > maxCollapseID {
		return refuse(http.StatusBadRequest, "BadCollapseId")
	}
	if id := h.Get("apns-id"); id != "" && !uuidRE.MatchString(id) {
		return refuse(http.StatusBadRequest, "BadMessageId")
	}
	return nil
}

func readPayload(r *http.Request, req *request) *apnsError {
	limit := maxPayload
	if req.n.PushType == "voip" {
		limit = maxVoIPPayload
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return refuse(http.StatusBadRequest, "PayloadEmpty")
	}
	if len(body) > limit {
		return refuse(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return refuse(http.StatusBadRequest, "PayloadEmpty")
	}
	if err := json.Unmarshal(body, &req.n.Payload); err != nil || req.n.Payload == nil {
		return refuse(http.StatusBadRequest, "BadPayload")
	}
	if _, ok := req.n.Payload["aps"].(map[string]any); !ok {
		return refuse(http.StatusBadRequest, "BadPayload")
	}
	return nil
}

func writeError(w http.ResponseWriter, e *apnsError, f vendorfake.Fault) {
	f.SetRetryAfter(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("apns-id", newUUID())
	w.WriteHeader(e.status)
	body := map[string]any{"reason": e.reason}
	if e.status == http.StatusGone {
		body["timestamp"] = time.Now().UnixMilli()
	}
	json.NewEncoder(w).Encode(body) //nolint:errcheck // the client went away
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// request carries what the checks learn about one request.
type request struct{ n Notification }
