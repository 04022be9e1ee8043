package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto"
)

// engage posts a report of the harness's device, signed by it (or not).
func (h *updateHarness) engage(body string, signed bool) *httptest.ResponseRecorder {
	target := "/v1/devices/" + h.id + "/engagements"
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if signed {
		r.Header.Set("Authorization", sdkproto.HTTPAuthHeader(h.secret, http.MethodPost, target, time.Now().Unix()))
	}
	return h.serve(r)
}

// A device reports opens and clicks over HTTP too: each counted once per
// push and kind, only for pushes of its app.
func TestReportEngagementOverHTTP(t *testing.T) {
	t.Parallel()
	h := newUpdateHarness(t)
	mine := &store.Push{ID: ids.New(), AppID: "a1", Targets: []string{h.id}, CreatedAt: time.Now().UTC(), State: store.PushPending}
	theirs := &store.Push{ID: ids.New(), AppID: "a2", Audience: store.Audience{Broadcast: true}, CreatedAt: time.Now().UTC(), State: store.PushPending}
	for _, p := range []*store.Push{mine, theirs} {
		_, err := h.st.CreatePush(t.Context(), p, "")
		require.NoError(t, err)
	}
	counted := func(kind, id string) bool {
		t.Helper()
		w := h.engage(`{"kind":"`+kind+`","push_id":"`+id+`"}`, true)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var out engagementResponse
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		return out.Counted
	}
	require.True(t, counted("open", mine.ID))
	require.False(t, counted("open", mine.ID), "once per device, push and kind")
	require.True(t, counted("click", mine.ID))
	p, err := h.st.Push(t.Context(), mine.ID)
	require.NoError(t, err)
	require.Equal(t, store.Counts{Opened: 1, Clicked: 1}, p.Counts)

	requireProblem(t, h.engage(`{"kind":"open","push_id":"`+theirs.ID+`"}`, true), http.StatusUnprocessableEntity, "unknown-push")
	requireProblem(t, h.engage(`{"kind":"open","push_id":"`+ids.New()+`"}`, true), http.StatusUnprocessableEntity, "unknown-push")
	requireProblem(t, h.engage(`{"kind":"view","push_id":"`+mine.ID+`"}`, true), http.StatusUnprocessableEntity, "invalid-engagement")
	requireProblem(t, h.engage(`{"kind":"open","push_id":""}`, true), http.StatusUnprocessableEntity, "invalid-engagement")
	requireProblem(t, h.engage(`{"kind":"open"`, true), http.StatusBadRequest, "bad-json")
	require.Equal(t, http.StatusUnauthorized, h.engage(`{"kind":"open","push_id":"`+mine.ID+`"}`, false).Code)
	p, err = h.st.Push(t.Context(), theirs.ID)
	require.NoError(t, err)
	require.Zero(t, p.Counts.Opened, "another app's push is not counted")
}
