package fcmfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newServer(t testing.TB) *Server {
	s := New(Config{})
	t.Cleanup(s.Close)
	return s
}

func TestTokenEndpointRefusesBadGrants(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, form := range []url.Values{
		{"grant_type": {"client_credentials"}},
		{"grant_type": {jwtBearerGrant}, "assertion": {"a.b.c"}},
	} {
		resp, err := s.Client().PostForm(s.TokenURL(), form)
		require.NoError(t, err)
		var body struct{ Error string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.NotEmpty(t, body.Error)
	}
	require.Zero(t, s.AccessTokens())
}

func TestSendNeedsAnAccessToken(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	resp, err := s.Client().Post(s.URL()+"/v1/projects/mopush-test/messages:send", "application/json",
		strings.NewReader(`{"message":{"token":"t"}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	var body struct {
		Error struct{ Status string }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "UNAUTHENTICATED", body.Error.Status)
}

func FuzzSend(f *testing.F) {
	s := newServer(f)
	tok, _ := s.issue(s.cfg.ProjectID)
	f.Add(`{"message":{"token":"abc","notification":{"title":"t"},"android":{"ttl":"10s","priority":"HIGH"}}}`)
	f.Add(`{"message":{"topic":"x"}}`)
	f.Add(`{"message":{"token":"abc","data":{"from":"x"}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/projects/mopush-test/messages:send", strings.NewReader(body))
		req.SetPathValue("project", "mopush-test")
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		s.serveSend(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("status %d, body not JSON: %q", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK && out["error"] == nil {
			t.Fatalf("status %d without an error body", rec.Code)
		}
	})
}
