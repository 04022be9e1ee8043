package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A dispatcher that takes the request and never answers fails the session
// after HandshakeTimeout when the HTTP client has no timeout of its own, so
// that Run backs off and tries again.
func TestDispatchIsBoundedByHandshakeTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	c := New(Config{Server: srv.URL, HTTP: &http.Client{}, HandshakeTimeout: 50 * time.Millisecond},
		State{DeviceID: "dev", Secret: make([]byte, 32)})
	welcomed, redirect, err := c.session(context.Background(), nil)
	require.False(t, welcomed)
	require.Nil(t, redirect)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
}

// An HTTP client's own timeout bounds the dispatch instead: a dispatcher
// slower than HandshakeTimeout but within that timeout answers.
func TestDispatchKeepsTheClientsTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"url":"ws://127.0.0.1:1/v1/connect"}`))
	}))
	t.Cleanup(srv.Close)

	c := New(Config{Server: srv.URL, HTTP: &http.Client{Timeout: time.Minute}, HandshakeTimeout: time.Millisecond},
		State{DeviceID: "dev", Secret: make([]byte, 32)})
	urls, err := c.dispatchBounded(context.Background(), "dev")
	require.NoError(t, err)
	require.Equal(t, []string{"ws://127.0.0.1:1/v1/connect"}, urls)
}
