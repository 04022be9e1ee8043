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
		log, ws, _ := serveHandshake(t, w, r, secret, early)
		if ws != nil {
			ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")) //nolint:errcheck // the test reads the log
			ws.Close()
		}
		seen <- log
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), seen
}

// serveHandshake upgrades r and runs the server side of a handshake up to
// the Welcome; it returns the client's messages in order, the connection
// and the session's codec (nil after a failure, which it reports).
func serveHandshake(t *testing.T, w http.ResponseWriter, r *http.Request, secret []byte, early bool) ([]string, *websocket.Conn, *sdkproto.Codec) {
	return serveHandshakeBeat(t, w, r, secret, early, 60_000)
}

// serveHandshakeBeat is serveHandshake with the heartbeat interval the
// Welcome gives.
func serveHandshakeBeat(t *testing.T, w http.ResponseWriter, r *http.Request, secret []byte, early bool, heartbeatMs uint32) ([]string, *websocket.Conn, *sdkproto.Codec) {
	var log []string
	ch, isEarly, err := sdkproto.EarlyHello(r.Header.Values("Sec-WebSocket-Protocol"))
	if err != nil {
		t.Errorf("early hello: %v", err)
		return log, nil, nil
	}
	up := websocket.Upgrader{Subprotocols: []string{sdkproto.Subprotocol}}
	if early && isEarly {
		up.Subprotocols = []string{sdkproto.SubprotocolEarlyHello}
		log = append(log, "early hello")
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		t.Errorf("upgrade: %v", err)
		return log, nil, nil
	}
	fail := func(format string, args ...any) ([]string, *websocket.Conn, *sdkproto.Codec) {
		t.Errorf(format, args...)
		ws.Close()
		return log, nil, nil
	}
	if len(log) == 0 {
		if _, ch, err = ws.ReadMessage(); err != nil {
			return fail("read client hello: %v", err)
		}
		log = append(log, "client hello")
	}
	hs, sh, err := sdkproto.AcceptClientHello(ch)
	if err != nil {
		return fail("accept client hello: %v", err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, sh); err != nil {
		return fail("write server hello: %v", err)
	}
	_, msg, err := ws.ReadMessage()
	if err != nil {
		return fail("read hello: %v", err)
	}
	if _, err := hs.VerifyHello(secret, msg); err != nil {
		return fail("verify hello: %v", err)
	}
	log = append(log, "hello")
	welcome, err := hs.Codec().Seal(nil, &pb.Frame{Body: &pb.Frame_Welcome{Welcome: &pb.Welcome{
		Proof: hs.WelcomeProof(secret), SessionId: "s1", HeartbeatMs: heartbeatMs}}})
	if err != nil {
		return fail("seal welcome: %v", err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, welcome); err != nil {
		return fail("write welcome: %v", err)
	}
	return log, ws, hs.Codec()
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
