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
// after HandshakeTimeout, even with an HTTP client that has no timeout of
// its own, so that Run backs off and tries again.
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
