package wnsfake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake/wnsfake"
)

func token(t *testing.T, s *wnsfake.Server, secret, scope string) (string, int) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"ms-app://sid"}, "client_secret": {secret}, "scope": {scope}}
	resp, err := s.Client().Post(s.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	defer resp.Body.Close()
	var v struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v.AccessToken, resp.StatusCode
}

func push(t *testing.T, s *wnsfake.Server, channel, tok string, h map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.ChannelURI(channel), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func toast() map[string]string {
	return map[string]string{"X-WNS-Type": "wns/toast", "Content-Type": "text/xml", "X-WNS-TTL": "60", "X-WNS-Tag": "t1"}
}

const body = `<toast><visual><binding template="ToastGeneric"><text>a &amp; b</text></binding></visual></toast>`

func TestFake(t *testing.T) {
	t.Parallel()
	s := wnsfake.New(wnsfake.Config{PackageSID: "ms-app://sid", ClientSecret: "sec"})
	t.Cleanup(s.Close)

	_, status := token(t, s, "wrong", wnsfake.Scope)
	require.Equal(t, http.StatusBadRequest, status)
	_, status = token(t, s, "sec", "other")
	require.Equal(t, http.StatusBadRequest, status)
	tok, status := token(t, s, "sec", wnsfake.Scope)
	require.Equal(t, http.StatusOK, status)

	resp := push(t, s, "c1", tok, toast(), body)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 2, resp.ProtoMajor)
	require.Equal(t, "received", resp.Header.Get("X-WNS-Status"))
	require.NotEmpty(t, resp.Header.Get("X-WNS-Msg-ID"))

	bad := map[string]func(map[string]string) (string, int){
		"not xml": func(h map[string]string) (string, int) { return "<toast>", http.StatusBadRequest },
		"raw as xml": func(h map[string]string) (string, int) {
			h["X-WNS-Type"] = "wns/raw"
			return body, http.StatusBadRequest
		},
		"unknown type": func(h map[string]string) (string, int) { h["X-WNS-Type"] = "wns/x"; return body, http.StatusBadRequest },
		"long tag": func(h map[string]string) (string, int) {
			h["X-WNS-Tag"] = strings.Repeat("t", 17)
			return body, http.StatusBadRequest
		},
		"bad priority": func(h map[string]string) (string, int) { h["X-WNS-Priority"] = "5"; return body, http.StatusBadRequest },
		"bad ttl":      func(h map[string]string) (string, int) { h["X-WNS-TTL"] = "-1"; return body, http.StatusBadRequest },
		"too large": func(h map[string]string) (string, int) {
			return strings.Repeat(" ", 6000) + body, http.StatusRequestEntityTooLarge
		},
		"expired token": func(h map[string]string) (string, int) {
			h["Authorization"] = "Bearer nope"
			return body, http.StatusUnauthorized
		},
		"missing bearer": func(h map[string]string) (string, int) { h["Authorization"] = ""; return body, http.StatusUnauthorized },
	}
	for name, mutate := range bad {
		h := toast()
		b, want := mutate(h)
		require.Equal(t, want, push(t, s, "c1", tok, h, b).StatusCode, name)
	}

	s.FailToken("gone", wnsfake.ChannelExpired())
	resp = push(t, s, "gone", tok, toast(), body)
	require.Equal(t, http.StatusGone, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("X-WNS-Error-Description"))

	s.ExpireAccessTokens()
	resp = push(t, s, "c1", tok, toast(), body)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), "invalid_token")

	require.Equal(t, 1, s.Count())
	m := s.Received()[0]
	require.Equal(t, []string{"a & b"}, m.Toast.Binding.Text)
	require.Equal(t, "t1", m.Tag)
}
