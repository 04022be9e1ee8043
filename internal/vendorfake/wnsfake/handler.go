package wnsfake

import (
	"crypto/subtle"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/vendorfake/fakekit"
)

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	}
	f := r.PostForm
	switch {
	case f.Get("client_id") != s.cfg.PackageSID ||
		subtle.ConstantTimeCompare([]byte(f.Get("client_secret")), []byte(s.cfg.ClientSecret)) != 1:
		oauthError(w, "invalid_client", "Invalid client id or secret")
	case f.Get("scope") != Scope:
		oauthError(w, "invalid_scope", "Invalid scope")
	default:
		fakekit.WriteJSON(w, http.StatusOK, map[string]any{
			"token_type": "bearer", "access_token": s.tokens.Issue(), "expires_in": int(tokenExpiry / time.Second),
		})
	}
}

func oauthError(w http.ResponseWriter, code, desc string) {
	fakekit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) handlePush(w http.ResponseWriter, r *http.Request) {
	s.Hit()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.tokens.Valid(tok) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token",error_description="Token has expired"`)
		fail(w, http.StatusUnauthorized, "The cloud service did not present a valid authentication ticket.")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err != nil {
		fail(w, http.StatusRequestEntityTooLarge, "The notification payload exceeds the size limit.")
		return
	}
	m, status, desc := parsePush(r, body)
	if status != http.StatusOK {
		fail(w, status, desc)
		return
	}
	if f, ok := s.TakeFault(m.Channel); ok {
		f.SetRetryAfter(w.Header())
		fail(w, fakekit.Status(f, http.StatusInternalServerError), f.Message)
		return
	}
	m.MsgID = strings.ToUpper(fakekit.RandomID(8))
	s.Accept(m)
	w.Header().Set("X-WNS-Status", "received")
	w.Header().Set("X-WNS-Msg-ID", m.MsgID)
	w.Header().Set("X-WNS-Debug-Trace", "FAKE-"+fakekit.RandomID(4))
	w.WriteHeader(http.StatusOK)
}

func fail(w http.ResponseWriter, status int, desc string) {
	if desc != "" {
		w.Header().Set("X-WNS-Error-Description", desc)
	}
	w.WriteHeader(status)
}

func parsePush(r *http.Request, body []byte) (Message, int, string) {
	h := r.Header
	m := Message{
		Channel:     r.URL.Query().Get("token"),
		Type:        h.Get("X-WNS-Type"),
		ContentType: h.Get("Content-Type"),
		Tag:         h.Get("X-WNS-Tag"),
		Priority:    h.Get("X-WNS-Priority"),
		Body:        body,
		TTL:         -1,
	}
	if m.Channel == "" {
		return m, http.StatusNotFound, "The channel URI is not valid or is not recognized by WNS."
	}
	if status, desc := checkType(m); status != http.StatusOK {
		return m, status, desc
	}
	if len(body) > MaxPayload {
		return m, http.StatusRequestEntityTooLarge, "The notification payload exceeds the 5000 byte size limit."
	}
	if v := h.Get("X-WNS-TTL"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return m, http.StatusBadRequest, "Invalid X-WNS-TTL."
		}
		m.TTL = time.Duration(n) * time.Second
	}
	if len(m.Tag) > maxTagLength {
		return m, http.StatusBadRequest, "X-WNS-Tag is longer than 16 characters."
	}
	if p := m.Priority; p != "" && (len(p) != 1 || p < "1" || p > "4") {
		return m, http.StatusBadRequest, "Invalid X-WNS-Priority."
	}
	if m.Type == "wns/toast" {
		var t Toast
		if err := xml.Unmarshal(body, &t); err != nil {
			return m, http.StatusBadRequest, "The toast payload is not well-formed XML."
		}
		m.Toast = &t
	}
	return m, http.StatusOK, ""
}

func checkType(m Message) (int, string) {
	ct, _, _ := strings.Cut(m.ContentType, ";")
	switch m.Type {
	case "wns/toast", "wns/tile", "wns/badge":
		if ct != "text/xml" {
			return http.StatusBadRequest, "Content-Type must be text/xml."
		}
	case "wns/raw":
		if ct != "application/octet-stream" {
			return http.StatusBadRequest, "Content-Type must be application/octet-stream."
		}
	default:
		return http.StatusBadRequest, "Missing or invalid X-WNS-Type."
	}
	return http.StatusOK, ""
}
