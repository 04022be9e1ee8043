package route

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// recording is a Local that keeps the batches it got and answers each
// device with status, or fails with err.
type recording struct {
	mu      sync.Mutex
	batches []Batch
	status  Status
	err     error
}

func (r *recording) Deliver(_ context.Context, b Batch) ([]Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, b)
	if r.err != nil {
		return nil, r.err
	}
	out := make([]Result, len(b.DeviceIDs))
	for i := range out {
		out[i] = Result{Status: r.status, Epoch: 7, Seq: uint64(i + 1)}
	}
	return out, nil
}

const testToken = "route-test-token"

func serve(t *testing.T, l Local) string {
	t.Helper()
	srv := httptest.NewServer(Handler(l, testToken, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv.URL
}

func client() *Client {
	return &Client{HTTP: &http.Client{Timeout: 5 * time.Second}, Token: testToken}
}

// A batch crosses HTTP whole, its fallback and retry marks included, and its results
// come back by position.
func TestBatchRoundTrip(t *testing.T) {
	l := &recording{status: Written}
	url := serve(t, l)
	for _, fallback := range []bool{false, true} {
		b := Batch{Message: store.Message{PushID: "p", Body: "b"}, DeviceIDs: []string{"d1", "d2"}, Fallback: fallback, Retry: !fallback}
		res, err := client().Deliver(context.Background(), url, b)
		require.NoError(t, err)
		require.Equal(t, []Result{{Status: Written, Epoch: 7, Seq: 1}, {Status: Written, Epoch: 7, Seq: 2}}, res)
		require.Equal(t, fallback, l.batches[len(l.batches)-1].Fallback)
		require.Equal(t, !fallback, l.batches[len(l.batches)-1].Retry)
		require.Equal(t, b.DeviceIDs, l.batches[len(l.batches)-1].DeviceIDs)
	}
}

// A disconnect reaches the connector with its ids and brings back what it
// did; without the internal token it is refused.
func TestDisconnectRoundTrip(t *testing.T) {
	d := &disconnects{}
	srv := httptest.NewServer(DisconnectHandler(d, testToken, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	res, err := client().Disconnect(context.Background(), srv.URL, Disconnect{DeviceIDs: []string{"d1", "d2"}})
	require.NoError(t, err)
	require.Equal(t, DisconnectResult{Closed: 2}, res)
	require.Equal(t, [][]string{{"d1", "d2"}}, d.got)

	_, err = (&Client{HTTP: http.DefaultClient, Token: "wrong"}).Disconnect(context.Background(), srv.URL, Disconnect{DeviceIDs: []string{"d3"}})
	require.ErrorIs(t, err, ErrRemote)
	require.Len(t, d.got, 1)
}

// Only a connector that gave no answer is unreachable: one that answered
// with an error status is not, and neither is a call its caller ended.
func TestDeliverErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	b := Batch{Message: store.Message{PushID: "p"}, DeviceIDs: []string{"d"}}

	_, err = client().Deliver(context.Background(), closed, b)
	require.ErrorIs(t, err, ErrUnreachable)

	failing := serve(t, &recording{err: errors.New("append failed")})
	_, err = client().Deliver(context.Background(), failing, b)
	require.ErrorIs(t, err, ErrRemote)
	require.NotErrorIs(t, err, ErrUnreachable)

	_, err = (&Client{HTTP: http.DefaultClient, Token: "wrong"}).Deliver(context.Background(), failing, b)
	require.ErrorIs(t, err, ErrRemote)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = client().Deliver(ctx, closed, b)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrUnreachable)
}

// A connector that takes the connection and never answers is unreachable
// once the client's timeout ends.
func TestSilentConnectorIsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	c := &Client{HTTP: &http.Client{Timeout: 200 * time.Millisecond}, Token: testToken}
	_, err = c.Deliver(context.Background(), "http://"+ln.Addr().String(), Batch{DeviceIDs: []string{"d"}})
	require.ErrorIs(t, err, ErrUnreachable)
}
