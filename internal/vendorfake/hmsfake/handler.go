package hmsfake

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

// Push Kit result codes the fake answers with.
const (
	CodeSuccess          = "80000000"
	CodePartialSuccess   = "80100000"
	CodeParamError       = "80100001"
	CodeBadStructure     = "80100003"
	CodeTTLPassed        = "80100004"
	CodeBadCollapseKey   = "80100013"
	CodeAuthError        = "80200001"
	CodeTokenExpired     = "80200003"
	CodeNoPermission     = "80300002"
	CodeAllTokensInvalid = "80300007"
	CodeTooLarge         = "80300008"
	CodeTooManyTokens    = "80300010"
	CodeInternal         = "81000001"
)

// Push Kit limits.
const (
	maxPayload = 4096           // message body without the tokens, in bytes
	maxTokens  = 1000           // tokens per request
	maxTTL     = 15 * 24 * 3600 // android.ttl, in seconds
	maxBody    = 1 << 20
)

var (
	ttlRE   = regexp.MustCompile(`^([0-9]+)(\.[0-9]{1,9})?[sS]?$`)
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9_:\-.]{8,256}$`)
)

// codeStatus is the HTTP status the fake pairs with each result code.
var codeStatus = map[string]int{
	CodeSuccess:        http.StatusOK,
	CodePartialSuccess: http.StatusOK,
	CodeAuthError:      http.StatusUnauthorized,
	CodeTokenExpired:   http.StatusUnauthorized,
	CodeInternal:       http.StatusInternalServerError,
}

// result is an answer: HTTP status, result code and message.
type result struct {
	status int
	code   string
	msg    string
}

func fail(code, msg string) *result {
	st, ok := codeStatus[code]
	if !ok {
		st = http.StatusBadRequest
	}
	return &result{status: st, code: code, msg: msg}
}

type sendRequest struct {
	ValidateOnly bool `json:"validate_only"`
	Message      *struct {
		Message
		Topic     string `json:"topic"`
		Condition string `json:"condition"`
	} `json:"message"`
}

func (s *Server) serveSend(w http.ResponseWriter, r *http.Request) {
	s.Hit()
	if r.Method != http.MethodPost {
		write(w, &result{status: http.StatusNotFound, code: CodeParamError, msg: "Method not allowed"}, vendorfake.Fault{})
		return
	}
	if res := s.authorize(r); res != nil {
		write(w, res, vendorfake.Fault{})
		return
	}
	req, res := decode(r)
	if res != nil {
		write(w, res, vendorfake.Fault{})
		return
	}
	m := &req.Message.Message
	if f, ok := s.TakeFault(m.Tokens[0]); ok {
		write(w, faultResult(f), f)
		return
	}
	if res := checkTokens(m.Tokens); res != nil {
		write(w, res, vendorfake.Fault{})
		return
	}
	m.RequestID = fmt.Sprintf("%d%s", time.Now().UnixMilli(), rand.Text()[:8])
	if !req.ValidateOnly {
		s.Accept(*m)
	}
	writeResult(w, http.StatusOK, CodeSuccess, "Success", m.RequestID)
}

func (s *Server) authorize(r *http.Request) *result {
	if r.PathValue("app") != s.cfg.AppID {
		return fail(CodeAuthError, "Oauth authentication error")
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	known, valid := s.tokenState(tok)
	switch {
	case !strings.EqualFold(scheme, "bearer") || !known:
		return fail(CodeAuthError, "Oauth authentication error")
	case !valid:
		return fail(CodeTokenExpired, "Access token expired")
	}
	return nil
}

func decode(r *http.Request) (*sendRequest, *result) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, fail(CodeBadStructure, "Incorrect message structure")
	}
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Message == nil {
		return nil, fail(CodeBadStructure, "Incorrect message structure")
	}
	m := req.Message
	targets := 0
	if len(m.Tokens) > 0 {
		targets++
	}
	if m.Topic != "" {
		targets++
	}
	if m.Condition != "" {
		targets++
	}
	if targets != 1 || len(m.Tokens) == 0 {
		return nil, fail(CodeParamError, "token, topic or condition: exactly one, and the fake supports tokens only")
	}
	if len(m.Tokens) > maxTokens {
		return nil, fail(CodeTooManyTokens, "The number of tokens exceeds the limit")
	}
	if res := checkMessage(&m.Message, body); res != nil {
		return nil, res
	}
	return &req, nil
}

func checkMessage(m *Message, body []byte) *result {
	if payloadSize(m, body) > maxPayload {
		return fail(CodeTooLarge, "The message body size exceeds the default value")
	}
	if m.Data == "" && m.Notification == nil && (m.Android == nil || m.Android.Notification == nil && m.Android.Data == "") {
		return fail(CodeBadStructure, "Incorrect message structure: no payload")
	}
	return checkAndroid(m)
}

// payloadSize is the size of the request body without the token list.
func payloadSize(m *Message, body []byte) int {
	n := len(body)
	for _, t := range m.Tokens {
		n -= len(t) + 3 // the token, its quotes and a comma
	}
	return n
}

func checkAndroid(m *Message) *result {
	a := m.Android
	if a == nil {
		if m.Notification != nil {
			return fail(CodeBadStructure, "Incorrect message structure: android is required for notification messages")
		}
		return nil
	}
	if a.CollapseKey != nil && (*a.CollapseKey < -1 || *a.CollapseKey > 100) {
		return fail(CodeBadCollapseKey, "collapse_key is illegal")
	}
	switch a.Urgency {
	case "", "HIGH", "NORMAL":
	default:
		return fail(CodeParamError, "urgency is illegal")
	}
	if res := checkTTL(a.TTL); res != nil {
		return res
	}
	n := a.Notification
	if n == nil && m.Notification == nil {
		return nil
	}
	if n == nil || n.ClickAction == nil || n.ClickAction.Type < 1 || n.ClickAction.Type > 4 {
		return fail(CodeBadStructure, "Incorrect message structure: click_action is required")
	}
	if n.Title == "" && (m.Notification == nil || m.Notification.Title == "") {
		return fail(CodeBadStructure, "Incorrect message structure: title is required")
	}
	return nil
}

func checkTTL(ttl string) *result {
	if ttl == "" {
		return nil
	}
	sub := ttlRE.FindStringSubmatch(ttl)
	if sub == nil {
		return fail(CodeParamError, "ttl is illegal")
	}
	secs, err := strconv.ParseInt(sub[1], 10, 64)
	if err != nil || secs > maxTTL {
		return fail(CodeParamError, "ttl is illegal")
	}
	return nil
}

// checkTokens answers 80300007 when no token is well formed and 80100000
// with the ill-formed ones when only some are.
func checkTokens(tokens []string) *result {
	var bad []string
	for _, t := range tokens {
		if !tokenRE.MatchString(t) {
			bad = append(bad, t)
		}
	}
	switch {
	case len(bad) == 0:
		return nil
	case len(bad) == len(tokens):
		return fail(CodeAllTokensInvalid, "All the tokens are invalid")
	}
	msg, _ := json.Marshal(map[string]any{
		"success": len(tokens) - len(bad), "failure": len(bad), "illegal_tokens": bad,
	})
	return &result{status: http.StatusOK, code: CodePartialSuccess, msg: string(msg)}
}

func faultResult(f vendorfake.Fault) *result {
	res := fail(f.Reason, f.Message)
	if f.Status != 0 {
		res.status = f.Status
	}
	if res.msg == "" {
		res.msg = http.StatusText(res.status)
	}
	return res
}

func write(w http.ResponseWriter, res *result, f vendorfake.Fault) {
	f.SetRetryAfter(w.Header())
	writeResult(w, res.status, res.code, res.msg, fmt.Sprint(time.Now().UnixMilli()))
}

func writeResult(w http.ResponseWriter, status int, code, msg, requestID string) {
	body := map[string]string{"msg": msg, "requestId": requestID}
	if code != "" {
		body["code"] = code
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(body) //nolint:errcheck // a map of strings always encodes
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

// serveToken is the client-credentials grant (RFC 6749 section 4.4) with
// the client id and secret in the form body.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeOAuthError(w, 1102, "invalid grant_type")
		return
	}
	if r.PostForm.Get("client_id") != s.cfg.AppID || r.PostForm.Get("client_secret") != s.cfg.AppSecret {
		writeOAuthError(w, 1101, "invalid client")
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck // the client went away
		"access_token": s.issue(),
		"expires_in":   int(s.cfg.AccessTokenTTL / time.Second),
		"token_type":   "Bearer",
	})
}

func writeOAuthError(w http.ResponseWriter, code int, desc string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck // the client went away
		"error": code, "sub_error": 20000 + code, "error_description": desc,
	})
}
