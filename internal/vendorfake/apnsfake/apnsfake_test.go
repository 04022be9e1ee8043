package apnsfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newServer(t testing.TB) *Server {
	s, err := New(Config{Topics: []string{"com.example.app"}})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func reason(t testing.TB, rec *httptest.ResponseRecorder) string {
	var body struct{ Reason string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return body.Reason
}

func TestRefusesWithAPNsReasons(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, tc := range []struct {
		method, path, auth, reason string
		status                     int
	}{
		{"POST", "/3/other", "", "BadPath", 404},
		{"GET", "/3/device/abcd", "", "MethodNotAllowed", 405},
		{"POST", "/3/device/abcd", "", "MissingProviderToken", 403},
		{"POST", "/3/device/abcd", "bearer not.a.jwt", "InvalidProviderToken", 403},
		{"POST", "/3/device/abcd", "basic x", "InvalidProviderToken", 403},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{"aps":{}}`))
		if tc.auth != "" {
			req.Header.Set("authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		s.serve(rec, req)
		require.Equal(t, tc.status, rec.Code, tc.reason)
		require.Equal(t, tc.reason, reason(t, rec))
	}
	require.Zero(t, s.Count())
}

func FuzzServe(f *testing.F) {
	s := newServer(f)
	f.Add("/3/device/00ff", "bearer a.b.c", "alert", "10", `{"aps":{"alert":"x"}}`)
	f.Add("/3/device/", "", "", "", ``)
	f.Fuzz(func(t *testing.T, path, auth, pushType, priority, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.URL.Path = path
		req.Header.Set("authorization", auth)
		req.Header.Set("apns-push-type", pushType)
		req.Header.Set("apns-priority", priority)
		rec := httptest.NewRecorder()
		s.serve(rec, req)
		if rec.Code != http.StatusOK {
			reason(t, rec)
		}
	})
}
