package webpushfake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
)

// maxVAPIDLife is RFC 8292's limit on how far in the future exp may be.
const maxVAPIDLife = 24 * time.Hour

var (
	topicRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	urgencies = map[string]bool{"very-low": true, "low": true, "normal": true, "high": true}
)

// refusal is an HTTP status and a reason for the response body.
type refusal struct {
	status int
	reason string
}

func (s *Server) servePush(w http.ResponseWriter, r *http.Request) {
	s.Hit()
	endpoint := s.srv.URL + r.URL.Path
	if r.Method != http.MethodPost {
		writeRefusal(w, &refusal{http.StatusMethodNotAllowed, "push messages are POSTed"}, vendorfake.Fault{})
		return
	}
	m := Message{Endpoint: endpoint}
	if ref := s.check(r, &m); ref != nil {
		writeRefusal(w, ref, vendorfake.Fault{})
		return
	}
	if f, ok := s.TakeFault(endpoint); ok {
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		writeRefusal(w, &refusal{status, f.Message}, f)
		return
	}
	m.Location = s.srv.URL + "/message/" + rand.Text()
	s.Accept(m)
	w.Header().Set("Location", m.Location)
	w.Header().Set("TTL", strconv.Itoa(m.TTL))
	w.WriteHeader(http.StatusCreated)
}

// check validates a push in the order a push service can: the
// subscription, the VAPID credentials, the headers, then the body.
func (s *Server) check(r *http.Request, m *Message) *refusal {
	sub, ok := s.lookup(r.PathValue("id"))
	if !ok {
		return &refusal{http.StatusNotFound, "no such subscription"}
	}
	if sub.gone {
		return &refusal{http.StatusGone, "subscription expired"}
	}
	if ref := s.checkVAPID(r.Header.Get("Authorization"), sub, m); ref != nil {
		return ref
	}
	if ref := checkHeaders(r.Header, m); ref != nil {
		return ref
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.cfg.MaxBody)+1))
	if err != nil {
		return &refusal{http.StatusBadRequest, "cannot read body"}
	}
	if len(body) > s.cfg.MaxBody {
		return &refusal{http.StatusRequestEntityTooLarge, "payload too large"}
	}
	if m.Plaintext, err = Decrypt(body, sub.key, sub.auth); err != nil {
		return &refusal{http.StatusBadRequest, "cannot decrypt payload"}
	}
	return nil
}

// checkVAPID checks an "Authorization: vapid t=<jwt>, k=<key>" header
// (RFC 8292 sections 2 to 4).
func (s *Server) checkVAPID(auth string, sub *subscription, m *Message) *refusal {
	params, ok := vapidParams(auth)
	if !ok {
		return &refusal{http.StatusUnauthorized, "missing or malformed vapid authorization"}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(params["k"], "="))
	if err != nil {
		return &refusal{http.StatusUnauthorized, "bad vapid key"}
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return &refusal{http.StatusUnauthorized, "bad vapid key"}
	}
	j, err := vendorfake.ParseJWT(params["t"])
	if err != nil || j.VerifyES256(pub) != nil {
		return &refusal{http.StatusUnauthorized, "bad vapid token signature"}
	}
	if ref := s.checkClaims(j); ref != nil {
		return ref
	}
	if sub.appKey != nil && string(sub.appKey) != string(raw) {
		return &refusal{http.StatusForbidden, "vapid key does not match the subscription"}
	}
	m.VAPIDKey, m.Subject = params["k"], j.ClaimString("sub")
	return nil
}

func (s *Server) checkClaims(j *vendorfake.JWT) *refusal {
	if j.ClaimString("aud") != s.srv.URL {
		return &refusal{http.StatusUnauthorized, "vapid aud is not this push service's origin"}
	}
	exp, ok := j.ClaimInt("exp")
	now := s.cfg.Now()
	if !ok || !time.Unix(exp, 0).After(now) || time.Unix(exp, 0).Sub(now) > maxVAPIDLife {
		return &refusal{http.StatusUnauthorized, "vapid exp is missing, past, or more than 24h ahead"}
	}
	sub := j.ClaimString("sub")
	if !strings.HasPrefix(sub, "mailto:") && !strings.HasPrefix(sub, "https:") {
		return &refusal{http.StatusUnauthorized, "vapid sub must be a mailto: or https: URI"}
	}
	return nil
}

// vapidParams splits `vapid t=..., k=...` into its parameters.
func vapidParams(auth string) (map[string]string, bool) {
	scheme, rest, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return nil, false
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok {
			params[strings.ToLower(k)] = strings.Trim(v, `"`)
		}
	}
	return params, params["t"] != "" && params["k"] != ""
}

func checkHeaders(h http.Header, m *Message) *refusal {
	ttl, err := strconv.Atoi(h.Get("TTL"))
	if err != nil || ttl < 0 {
		return &refusal{http.StatusBadRequest, "TTL header missing or invalid"}
	}
	m.TTL = ttl
	m.Urgency = h.Get("Urgency")
	if m.Urgency == "" {
		m.Urgency = "normal"
	}
	if !urgencies[m.Urgency] {
		return &refusal{http.StatusBadRequest, "invalid Urgency"}
	}
	if m.Topic = h.Get("Topic"); m.Topic != "" && !topicRE.MatchString(m.Topic) {
		return &refusal{http.StatusBadRequest, "invalid Topic"}
	}
	if h.Get("Content-Encoding") != "aes128gcm" {
		return &refusal{http.StatusUnsupportedMediaType, "Content-Encoding must be aes128gcm"}
	}
	return nil
}

func writeRefusal(w http.ResponseWriter, ref *refusal, f vendorfake.Fault) {
	if ref.reason == "" {
		ref.reason = http.StatusText(ref.status)
	}
	f.SetRetryAfter(w.Header())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(ref.status)
	io.WriteString(w, ref.reason+"\n") //nolint:errcheck // the client went away
}
