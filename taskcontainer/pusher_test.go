package taskcontainer

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

// HTTPPusher posts a page as a push to its devices, scheduled when it has
// a time; the push API's unknown devices come back as *UnknownDevices, and
// a cancel of a push that was sent or is gone is no error.
func TestHTTPPusher(t *testing.T) {
	var body pushBody
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest) // fails the call, and so the test
				return
			}
			if len(body.Audience.DeviceIDs) > 1 {
				httpx.WriteProblem(w, &httpx.Error{Status: http.StatusUnprocessableEntity, Slug: "unknown-device",
					Extra: map[string]any{"device_ids": body.Audience.DeviceIDs[1:]}})
				return
			}
			httpx.WriteJSON(w, http.StatusAccepted, map[string]string{"push_id": "P1"}) //nolint:errcheck // test server
		case r.URL.Path == "/v1/pushes/sent":
			httpx.WriteProblem(w, httpx.Errorf(http.StatusConflict, "not-cancellable", "", ""))
		default:
			httpx.WriteProblem(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", ""))
		}
	}))
	defer srv.Close()
	p := &HTTPPusher{API: &httpx.AdminClient{Base: srv.URL, Token: "tok"}}
	at := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)

	id, err := p.Push(t.Context(), "a1", Page{DeviceIDs: []string{"d1"}, Notification: store.Notification{Title: "t"}, SendAt: at}, "k")
	require.NoError(t, err)
	require.Equal(t, "P1", id)
	require.Equal(t, []string{"d1"}, body.Audience.DeviceIDs)
	require.Equal(t, "2026-12-24T09:00:00Z", body.Options["send_at"])

	_, err = p.Push(t.Context(), "a1", Page{DeviceIDs: []string{"d1", "d2", "d3"}}, "k2")
	var unknown *UnknownDevices
	require.ErrorAs(t, err, &unknown)
	require.Equal(t, []string{"d2", "d3"}, unknown.IDs)

	require.NoError(t, p.Cancel(t.Context(), "a1", "sent"))
	err = p.Cancel(t.Context(), "a1", "other")
	var pe *httpx.Error
	require.True(t, errors.As(err, &pe) && pe.Status == http.StatusServiceUnavailable, "%v", err)
}
