package client

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/sdkproto/pb"
)

// The session pings at the interval the Welcome gives, from a timer
// rather than a goroutine of its own, until the session ends.
func TestSessionHeartbeat(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	pings := make(chan int64, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ws, codec := serveHandshakeBeat(t, w, r, secret, true, 5)
		if ws == nil {
			return
		}
		defer ws.Close()
		for n := 0; n < 3; {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				t.Errorf("read: %v", err)
				return
			}
			f, err := codec.Open(msg)
			if err != nil {
				t.Errorf("open: %v", err)
				return
			}
			if p := f.GetPing(); p != nil {
				pings <- p.TimeMs
				n++
			}
		}
		close(pings)
		ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")) //nolint:errcheck // the session ends either way
	}))
	t.Cleanup(srv.Close)

	c := New(Config{Server: "http://127.0.0.1:1", HTTP: &http.Client{}}, State{DeviceID: "dev", Secret: secret})
	welcomed, _, _ := c.session(t.Context(), &pb.Redirect{Url: "ws" + strings.TrimPrefix(srv.URL, "http")})
	require.True(t, welcomed)
	var got []int64
	for ms := range pings {
		got = append(got, ms)
	}
	require.Len(t, got, 3)
	require.IsNonDecreasing(t, got)
}

// stop ends the pings, also when it comes while one is being sent, and a
// ping that fails ends them too.
func TestHeartbeatStops(t *testing.T) {
	calls, release := make(chan struct{}, 64), make(chan struct{})
	stop := heartbeat(time.Millisecond, func() error {
		calls <- struct{}{}
		<-release
		return nil
	})
	<-calls // the first ping is being sent
	stop()
	close(release) // it ends; the timer must not be armed again
	time.Sleep(30 * time.Millisecond)
	require.Empty(t, calls, "pinged after stop")

	calls = make(chan struct{}, 64)
	stop = heartbeat(time.Millisecond, func() error {
		calls <- struct{}{}
		return errors.New("connection closed")
	})
	defer stop()
	<-calls
	time.Sleep(30 * time.Millisecond)
	require.Empty(t, calls, "pinged after a failed ping")
}
