package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

// An operator's tool sends the admin token and names the app in
// Mopush-App: it then pushes, reads and cancels as that app, and nothing
// less than the admin token gets in.
func TestAdminActsForApp(t *testing.T) {
	h := newScheduleHarness(t)
	h.g.cfg.AdminToken = "admin"
	asAdmin := func(method, path, body, token, app string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		r.Header.Set(httpx.AppHeader, app)
		return h.serve(r)
	}

	body := `{"audience":{"device_ids":["` + h.id + `"]},"notification":{"title":"t"},"options":{"send_at":"` +
		h.clock.Add(3600e9).Format("2006-01-02T15:04:05Z07:00") + `"}}`
	w := asAdmin(http.MethodPost, "/v1/pushes", body, "admin", "a1")
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	var acc pushAccepted
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &acc))
	require.Equal(t, "scheduled", h.view(acc.PushID).State, "the push belongs to the app, as if its key had sent it")

	w = asAdmin(http.MethodGet, "/v1/pushes", "", "admin", "a1")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), acc.PushID)

	for name, c := range map[string]struct {
		token, app string
		status     int
	}{
		"wrong token":  {"nope", "a1", http.StatusUnauthorized},
		"no token":     {"", "a1", http.StatusUnauthorized},
		"unknown app":  {"admin", "a9", http.StatusNotFound},
		"another app":  {"admin", "a2", http.StatusNotFound},
		"overlong app": {"admin", strings.Repeat("A", 65), http.StatusNotFound},
	} {
		w := asAdmin(http.MethodDelete, "/v1/pushes/"+acc.PushID, "", c.token, c.app)
		require.Equal(t, c.status, w.Code, "%s: %s", name, w.Body.String())
		require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"), name)
	}
	require.Equal(t, "scheduled", h.view(acc.PushID).State, "no refused request cancelled it")

	// An app's key and secret cannot act for another app through the header.
	r := httptest.NewRequest(http.MethodGet, "/v1/pushes", nil)
	r.SetBasicAuth("k1", "s1")
	r.Header.Set(httpx.AppHeader, "a1")
	require.Equal(t, http.StatusUnauthorized, h.serve(r).Code)

	w = asAdmin(http.MethodDelete, "/v1/pushes/"+acc.PushID, "", "admin", "a1")
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Equal(t, "cancelled", h.view(acc.PushID).State)
}

// GET /v1/apps pages through every app, oldest first, for the admin only.
func TestListApps(t *testing.T) {
	h := newScheduleHarness(t)
	h.g.cfg.AdminToken = "admin"
	for _, id := range []string{"a3", "a0"} {
		require.NoError(t, h.st.CreateApp(t.Context(), &store.App{ID: id, Name: "n" + id, Key: "k" + id, CreatedAt: time.Now().UTC()}))
	}
	list := func(query, token string) (*httptest.ResponseRecorder, appList) {
		r := httptest.NewRequest(http.MethodGet, "/v1/apps"+query, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := h.serve(r)
		var out appList
		if w.Code == http.StatusOK {
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		}
		return w, out
	}
	var seen []string
	cursor := ""
	for range 10 {
		w, page := list("?limit=2&after="+cursor, "admin")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		require.LessOrEqual(t, len(page.Apps), 2)
		for _, a := range page.Apps {
			seen = append(seen, a.AppID)
			require.Empty(t, a.MasterSecret)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	// The harness's apps a1 and a2, and the two made here, in id order.
	require.Equal(t, []string{"a0", "a1", "a2", "a3"}, seen)

	w, _ := list("", "wrong")
	require.Equal(t, http.StatusUnauthorized, w.Code)
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?after=" + strings.Repeat("A", 65)} {
		w, _ := list(q, "admin")
		require.Equal(t, http.StatusBadRequest, w.Code, q)
	}
}
