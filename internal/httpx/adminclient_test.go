package httpx

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// AdminClient sends the admin token, the app and the key, decodes a 2xx
// answer, and returns a problem answer as an *Error with its members.
func TestAdminClient(t *testing.T) {
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, gotBody = r, string(b)
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, `{"push_id":"P1"}`)
		case "/problem":
			WriteProblem(w, &Error{Status: http.StatusUnprocessableEntity, Slug: "unknown-device", Title: "Unknown device",
				Detail: "1 device(s) not registered", Extra: map[string]any{"device_ids": []string{"d1"}}})
		default:
			http.Error(w, "upstream broke", http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	c := &AdminClient{Base: srv.URL + "/", Token: "tok"}

	var out struct {
		PushID string `json:"push_id"`
	}
	require.NoError(t, c.Call(t.Context(), http.MethodPost, "/ok", "a1", "key-1", []byte(`{"x":1}`), &out))
	require.Equal(t, "P1", out.PushID)
	require.Equal(t, "Bearer tok", got.Header.Get("Authorization"))
	require.Equal(t, "a1", got.Header.Get(AppHeader))
	require.Equal(t, "key-1", got.Header.Get("Idempotency-Key"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.Equal(t, `{"x":1}`, gotBody)

	require.NoError(t, c.Call(t.Context(), http.MethodGet, "/ok", "", "", nil, nil))
	require.Empty(t, got.Header.Get(AppHeader))
	require.Empty(t, got.Header.Get("Idempotency-Key"))
	require.Empty(t, got.Header.Get("Content-Type"))

	err := c.Call(t.Context(), http.MethodPost, "/problem", "a1", "", nil, nil)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, http.StatusUnprocessableEntity, e.Status)
	require.Equal(t, "unknown-device", e.Slug)
	require.Equal(t, "1 device(s) not registered", e.Detail)
	require.Equal(t, map[string]any{"device_ids": []any{"d1"}}, e.Extra)

	err = c.Call(t.Context(), http.MethodGet, "/broken", "", "", nil, nil)
	require.Error(t, err)
	require.False(t, errors.As(err, new(*Error)), "a non-problem answer is no typed problem")
	require.ErrorContains(t, err, "502")
}
