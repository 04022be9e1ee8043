package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

func (h *scheduleHarness) list(key, secret, query string) (pushList, *httptest.ResponseRecorder) {
	h.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/v1/pushes?"+query, nil)
	r.SetBasicAuth(key, secret)
	w := h.serve(r)
	var out pushList
	if w.Code == http.StatusOK {
		require.NoError(h.t, json.Unmarshal(w.Body.Bytes(), &out))
	}
	return out, w
}

// listAll follows the next cursors from query and returns the ids listed.
func (h *scheduleHarness) listAll(query string) []string {
	h.t.Helper()
	var got []string
	q, _ := url.ParseQuery(query)
	for range 100 {
		page, w := h.list("k1", "s1", q.Encode())
		require.Equal(h.t, http.StatusOK, w.Code, w.Body.String())
		for _, p := range page.Pushes {
			got = append(got, p.PushID)
		}
		if page.Next == "" {
			return got
		}
		q.Set("before", page.Next)
	}
	h.t.Fatal("the pages do not end")
	return nil
}

// GET /v1/pushes lists the app's pushes newest first, in pages that the
// next cursor chains, each once, optionally in one state.
func TestListPushes(t *testing.T) {
	t.Parallel()
	h := newScheduleHarness(t)
	var all, scheduled []string // newest last
	for i := range 25 {
		switch i % 5 {
		case 0:
			scheduled = append(scheduled, h.accepted(sendAt(h.clock.Add(time.Hour))))
			all = append(all, scheduled[len(scheduled)-1])
		case 1:
			id := h.accepted(sendAt(h.clock.Add(time.Hour)))
			require.Equal(t, http.StatusNoContent, h.cancel(id, "k1", "s1").Code)
			all = append(all, id)
		default:
			all = append(all, h.accepted(`{}`))
		}
		h.advance(time.Millisecond) // ids in order of creation
	}
	h.drain()
	other := &store.Push{ID: ids.At(h.clock), AppID: "a2", Audience: store.Audience{Broadcast: true}, CreatedAt: h.clock, State: store.PushPending}
	_, err := h.st.CreatePush(t.Context(), other, "")
	require.NoError(t, err)

	newestFirst := func(l []string) []string {
		out := make([]string, len(l))
		for i, id := range l {
			out[len(l)-1-i] = id
		}
		return out
	}
	require.Equal(t, newestFirst(all), h.listAll("limit=7"), "every push of the app, newest first, once")
	require.Equal(t, newestFirst(scheduled), h.listAll("state=scheduled&limit=2"))
	page, _ := h.list("k1", "s1", "")
	require.Len(t, page.Pushes, defaultListedPushes)
	require.Equal(t, all[len(all)-1], page.Pushes[0].PushID)
	require.Equal(t, page.Pushes[len(page.Pushes)-1].PushID, page.Next)
	page, _ = h.list("k1", "s1", "state=cancelled&limit=100")
	require.Len(t, page.Pushes, 5)
	require.Empty(t, page.Next, "the last page")
	for _, p := range page.Pushes {
		require.Equal(t, store.PushCancelled, p.State)
	}
	page, _ = h.list("k2", "s2", "")
	require.Len(t, page.Pushes, 1)
	require.Equal(t, other.ID, page.Pushes[0].PushID, "another app sees its own")

	for _, q := range []string{"limit=0", "limit=101", "limit=x", "state=sent", "before=", "order=asc", "limit=1&limit=2"} {
		_, w := h.list("k1", "s1", q)
		requireProblem(t, w, http.StatusBadRequest, "bad-query")
	}
	_, w := h.list("k1", "wrong", "")
	require.Equal(t, http.StatusUnauthorized, w.Code)
}

// A state filter that skips most pushes reads at most maxScannedPushes
// per request and answers with what it found and a cursor to go on from.
func TestListPushesScansBoundedly(t *testing.T) {
	t.Parallel()
	h := newScheduleHarness(t)
	old := h.accepted(sendAt(h.clock.Add(time.Hour)))
	for i := range maxScannedPushes + 50 {
		now := h.clock.Add(time.Duration(i+1) * time.Millisecond)
		p := &store.Push{ID: ids.At(now), AppID: "a1", Audience: store.Audience{Broadcast: true}, CreatedAt: now, State: store.PushPending}
		_, _, err := h.st.CreatePushDeferred(t.Context(), p, "")
		require.NoError(t, err)
	}
	page, w := h.list("k1", "s1", "state=scheduled")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Empty(t, page.Pushes, "the scheduled push is further back than one request reads")
	require.NotEmpty(t, page.Next)
	page, _ = h.list("k1", "s1", "state=scheduled&before="+page.Next)
	require.Len(t, page.Pushes, 1)
	require.Equal(t, old, page.Pushes[0].PushID)
	require.Empty(t, page.Next)
}
