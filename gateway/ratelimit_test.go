package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// An app's push_rate_per_second bounds its push requests to a gateway:
// over it, 429 rate-limited with Retry-After, nothing stored; tokens come
// back with time; other apps are not bounded by it; 0 lifts the bound.
func TestPushRateLimit(t *testing.T) {
	t.Parallel()
	h := newScheduleHarness(t)
	setRate := func(n int) {
		require.NoError(t, h.st.UpdateSettings(t.Context(), "a1", store.Settings{PushRate: n}))
		h.g.apps.drop("a1")
	}
	setRate(2)
	h.accepted(`{}`)
	h.accepted(`{}`)
	w := h.push(`{}`)
	requireProblem(t, w, http.StatusTooManyRequests, "rate-limited")
	require.Equal(t, "1", w.Header().Get("Retry-After"))
	pending, err := h.st.PendingPushes(t.Context(), 10)
	require.NoError(t, err)
	require.Len(t, pending, 2, "the refused request stored nothing")

	h.advance(500 * time.Millisecond)
	h.accepted(`{}`)
	requireProblem(t, h.push(`{}`), http.StatusTooManyRequests, "rate-limited")

	r := strings.NewReader(`{"audience":{"broadcast":true},"notification":{"title":"t"}}`)
	req := httptest.NewRequest(http.MethodPost, "/v1/pushes", r)
	req.SetBasicAuth("k2", "s2")
	require.Equal(t, http.StatusAccepted, h.serve(req).Code, "another app has its own bound")

	setRate(50) // a new rate starts with a full bucket
	for range 50 {
		h.accepted(`{}`)
	}
	requireProblem(t, h.push(`{}`), http.StatusTooManyRequests, "rate-limited")
	setRate(0)
	for range 100 {
		h.accepted(`{}`)
	}
}
