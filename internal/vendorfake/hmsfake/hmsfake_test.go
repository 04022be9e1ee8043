package hmsfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newServer(t testing.TB) *Server {
	s := New(Config{})
	t.Cleanup(s.Close)
	return s
}

func send(s *Server, auth, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/"+s.AppID()+"/messages:send", strings.NewReader(body))
	req.SetPathValue("app", s.AppID())
	req.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	s.serveSend(rec, req)
	return rec
}

func code(t testing.TB, rec *httptest.ResponseRecorder) string {
	var out struct{ Code string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	return out.Code
}

func TestResultCodes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	auth := "Bearer " + s.issue()
	require.Equal(t, CodeAuthError, code(t, send(s, "Bearer unknown", `{}`)))
	for body, want := range map[string]string{
		`{`: CodeBadStructure,
		`{"message":{"token":["tok-123456"],"android":{"notification":{"title":"t"}}}}`:                           CodeBadStructure,
		`{"message":{"token":["tok-123456"],"data":"x","android":{"collapse_key":101}}}`:                          CodeBadCollapseKey,
		`{"message":{"token":["tok-123456"],"data":"x","android":{"ttl":"2000000s"}}}`:                            CodeParamError,
		`{"message":{"token":["bad token"],"data":"x"}}`:                                                          CodeAllTokensInvalid,
		`{"message":{"token":["bad token","tok-123456"],"data":"x"}}`:                                             CodePartialSuccess,
		`{"message":{"token":["tok-123456"],"android":{"notification":{"title":"t","click_action":{"type":3}}}}}`: CodeSuccess,
	} {
		require.Equal(t, want, code(t, send(s, auth, body)), body)
	}
	s.ExpireAccessTokens()
	require.Equal(t, CodeTokenExpired, code(t, send(s, auth, `{}`)))
}

func FuzzSend(f *testing.F) {
	s := newServer(f)
	auth := "Bearer " + s.issue()
	f.Add(`{"message":{"token":["tok-123456"],"data":"x","android":{"urgency":"HIGH","ttl":"10s"}}}`)
	f.Add(`{"message":{"token":[],"topic":"x"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		rec := send(s, auth, body)
		if code(t, rec) == "" {
			t.Fatalf("status %d without a result code", rec.Code)
		}
	})
}
