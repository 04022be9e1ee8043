package honorfake

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/fakekit"
)

type envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    *data  `json:"data,omitempty"`
}

type data struct {
	SendResult   bool     `json:"sendResult"`
	RequestID    string   `json:"requestId"`
	FailTokens   []string `json:"failTokens"`
	ExpireTokens []string `json:"expireTokens"`
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		fakekit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if id != s.cfg.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) != 1 {
		fakekit.WriteJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "invalid_client", "error_description": "client authentication failed",
		})
		return
	}
	fakekit.WriteJSON(w, http.StatusOK, map[string]any{
		"access_token": s.tokens.Issue(),
		"expires_in":   int(s.cfg.TokenLifetime / time.Second),
		"token_type":   "Bearer",
	})
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	s.Hit()
	if code, text := s.checkHeaders(r); code != CodeOK {
		status := http.StatusOK
		if code == CodeAuthFailed {
			status = httpStatusAuthRefused
		}
		fakekit.WriteJSON(w, status, envelope{Code: code, Message: text})
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeCode(w, CodeBadStructure, "request too large")
		return
	}
	m, code, text := parseMessage(raw)
	if code != CodeOK {
		writeCode(w, code, text)
		return
	}
	if f, ok := s.TakeFault(m.Token[0]); ok {
		writeFault(w, f, m.Token[0])
		return
	}
	m.RequestID = fakekit.RandomID(12)
	s.Accept(m)
	fakekit.WriteJSON(w, http.StatusOK, envelope{Code: CodeOK, Message: "success", Data: &data{
		SendResult: true, RequestID: m.RequestID, FailTokens: []string{}, ExpireTokens: []string{},
	}})
}

func (s *Server) checkHeaders(r *http.Request) (int, string) {
	if r.PathValue("appID") != s.cfg.AppID {
		return CodeAppIDUnknown, "appId does not exist"
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.tokens.Valid(tok) {
		return CodeAuthFailed, "authentication failed"
	}
	ts := r.Header.Get("timestamp")
	if ts == "" {
		return CodeEmptyTimestamp, "timestamp is empty"
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if d := s.now().Sub(time.UnixMilli(ms)); err != nil || d > timestampSkew || d < -timestampSkew {
		return CodeBadTimestamp, "timestamp is invalid"
	}
	return CodeOK, ""
}

func parseMessage(raw []byte) (Message, int, string) {
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, CodeBadStructure, "message structure error"
	}
	if code, text := checkTokens(m.Token); code != CodeOK {
		return m, code, text
	}
	if code, text := checkContent(m); code != CodeOK {
		return m, code, text
	}
	if m.Android != nil && m.Android.TTL != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(m.Android.TTL, "s"))
		if !strings.HasSuffix(m.Android.TTL, "s") || err != nil || n <= 0 || n > maxTTLSeconds {
			return m, CodeBadStructure, "android.ttl is invalid"
		}
		m.TTL = time.Duration(n) * time.Second
	}
	if len(raw)-tokenBytes(m.Token) > maxMessageBytes {
		return m, CodeMessageTooLarge, "message body exceeds 4096 bytes"
	}
	return m, CodeOK, ""
}

func checkTokens(tokens []string) (int, string) {
	if len(tokens) == 0 || tokens[0] == "" {
		return CodeEmptyToken, "push token is empty"
	}
	if len(tokens) > maxTokensPerMessage {
		return CodeTooManyTokens, "too many tokens"
	}
	seen := make(map[string]bool, len(tokens))
	for _, t := range tokens {
		if seen[t] {
			return CodeDuplicateTokens, "duplicate push tokens"
		}
		seen[t] = true
	}
	return CodeOK, ""
}

func checkContent(m Message) (int, string) {
	var an *AndroidNotification
	if m.Android != nil {
		an = m.Android.Notification
	}
	if m.Notification == nil && an == nil && m.Data == "" {
		return CodeBadStructure, "no notification and no data"
	}
	if an != nil {
		if an.ClickAction == nil || an.ClickAction.Type < 1 || an.ClickAction.Type > 3 {
			return CodeBadStructure, "android.notification.clickAction.type is invalid"
		}
		if an.Importance != "" && an.Importance != "LOW" && an.Importance != "NORMAL" {
			return CodeBadStructure, "importance is invalid"
		}
	}
	if (m.Notification != nil || an != nil) && m.Data != "" && !json.Valid([]byte(m.Data)) {
		return CodeBadStructure, "data of a notification message must be JSON"
	}
	return CodeOK, ""
}

func tokenBytes(tokens []string) int {
	n := 0
	for _, t := range tokens {
		n += len(t) + 3
	}
	return n
}

func writeCode(w http.ResponseWriter, code int, text string) {
	fakekit.WriteJSON(w, http.StatusOK, envelope{Code: code, Message: text})
}

func writeFault(w http.ResponseWriter, f vendorfake.Fault, token string) {
	f.SetRetryAfter(w.Header())
	d := &data{RequestID: fakekit.RandomID(12), FailTokens: []string{}, ExpireTokens: []string{}}
	code, ok := fakekit.Code(f)
	switch {
	case f.Reason == ReasonExpiredToken:
		code, d.ExpireTokens = CodePartialSuccess, []string{token}
	case f.Reason == ReasonFailedToken:
		code, d.FailTokens = CodePartialSuccess, []string{token}
	case !ok:
		status := fakekit.Status(f, http.StatusInternalServerError)
		http.Error(w, http.StatusText(status), status)
		return
	}
	fakekit.WriteJSON(w, fakekit.Status(f, http.StatusOK), envelope{Code: code, Message: f.Message, Data: d})
}
