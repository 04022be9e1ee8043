package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// handshakeServer runs the server side of one handshake and closes. With
// early set it speaks early hellos (it takes the ClientHello from the
// upgrade request); without, it is a server that predates them. It reports
// the client's messages in the order they came.
func handshakeServer(t *testing.T, secret []byte, early bool) (url string, got <-chan []string) {
	t.Helper()
	seen := make(chan []string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var log []string
		defer func() { seen <- log }()
		ch, isEarly, err := sdkproto.EarlyHello(r.Header.Values("Sec-WebSocket-Protocol"))
		if err != nil {
			t.Errorf("early hello: %v", err)
			return
		}
		up := websocket.Upgrader{Subprotocols: []string{sdkproto.Subprotocol}}
		if early && isEarly {
			up.Subprotocols = []string{sdkproto.SubprotocolEarlyHello}
			log = append(log, "early hello")
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer ws.Close()
		if len(log) == 0 {
			if _, ch, err = ws.ReadMessage(); err != nil {
				t.Errorf("read client hello: %v", err)
				return
			}
			log = append(log, "client hello")
		}
		hs, sh, err := sdkproto.AcceptClientHello(ch)
		if err != nil {
			t.Errorf("accept client hello: %v", err)
			return
		}
		if err := ws.WriteMessage(websocket.BinaryMessage, sh); err != nil {
			t.Errorf("write server hello: %v", err)
			return
		}
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Errorf("read hello: %v", err)
			return
		}
		if _, err := hs.VerifyHello(secret, msg); err != nil {
			t.Errorf("verify hello: %v", err)
			return
		}
		log = append(log, "hello")
		welcome, err := hs.Codec().Seal(nil, &pb.Frame{Body: &pb.Frame_Welcome{Welcome: &pb.Welcome{
			Proof: hs.WelcomeProof(secret), SessionId: "s1", HeartbeatMs: 60_000}}})
		if err != nil {
			t.Errorf("seal welcome: %v", err)
			return
		}
		if err := ws.WriteMessage(websocket.BinaryMessage, welcome); err != nil {
			t.Errorf("write welcome: %v", err)
			return
		}
		ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")) //nolint:errcheck // the test reads the log
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), seen
}

// The client offers its ClientHello with the upgrade request. A server that
// takes it answers with the ServerHello at once, and the client does not
// send the ClientHello again; a server that predates early hellos gets it
// as the first message.
func TestSessionEarlyHello(t *testing.T) {
	for _, tc := range []struct {
		name  string
		early bool
		want  []string
	}{
		{"server takes it", true, []string{"early hello", "hello"}},
		{"server predates it", false, []string{"client hello", "hello"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := []byte("0123456789abcdef0123456789abcdef")
			url, got := handshakeServer(t, secret, tc.early)
			var events []EventKind
			c := New(Config{Server: "http://127.0.0.1:1", HTTP: &http.Client{},
				OnEvent: func(e Event) { events = append(events, e.Kind) }},
				State{DeviceID: "dev", Secret: secret})
			welcomed, _, _ := c.session(context.Background(), &pb.Redirect{Url: url})
			require.True(t, welcomed)
			require.Contains(t, events, EventReady)
			require.Equal(t, tc.want, <-got)
		})
	}
}
