package connector

import (
	"context"
	"encoding/base64"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// countingListener counts the server's writes on each connection it
// accepts, and sends each connection's count in the order of accepting
// while accepted has room (a test that counts drains it as it dials).
// Embedding keeps the connection's SyscallConn, which the poller needs.
type countingListener struct {
	net.Listener
	accepted chan *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	writes := new(atomic.Int64)
	select {
	case l.accepted <- writes:
	default:
	}
	return &countingConn{TCPConn: c.(*net.TCPConn), writes: writes}, nil
}

type countingConn struct {
	*net.TCPConn
	writes *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.TCPConn.Write(b)
}

// An upgrade request that carries the ClientHello gets the 101 response and
// the ServerHello in one write, and the session goes on as usual; a client
// that sends the ClientHello as its first message still takes two writes.
func TestEarlyHelloSavesARoundTrip(t *testing.T) {
	_, st, url, l := serveConnector(t, Config{}, nil, nil)
	id, secret := ids.New(), ids.Secret(32)
	require.NoError(t, st.PutDevice(context.Background(), &store.Device{ID: id, AppID: "app", Secret: secret}))

	for _, early := range []bool{true, false} {
		hs, ch, err := sdkproto.NewClientHandshake(id, secret)
		require.NoError(t, err)
		d := websocket.Dialer{Subprotocols: []string{sdkproto.Subprotocol}}
		if early {
			d.Subprotocols = sdkproto.EarlyHelloProtocols(ch)
		}
		ws, _, err := d.Dial(url, nil)
		require.NoError(t, err)
		writes := <-l.accepted
		if early {
			require.Equal(t, sdkproto.SubprotocolEarlyHello, ws.Subprotocol())
		} else {
			require.Equal(t, sdkproto.Subprotocol, ws.Subprotocol())
			require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, ch))
		}
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, sh, err := ws.ReadMessage()
		require.NoError(t, err)
		// The server waits for the Hello now, so its count is final.
		want := int64(2)
		if early {
			want = 1
		}
		require.Equal(t, want, writes.Load(), "early %v: writes up to the ServerHello", early)

		codec, hello, err := hs.Finish(sh, &pb.Hello{})
		require.NoError(t, err)
		require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, hello))
		s := &rawSession{ws: ws, codec: codec}
		fr := s.read(t)
		require.NotNil(t, fr.GetWelcome())
		require.NoError(t, hs.VerifyWelcome(fr.GetWelcome()))
		s.synced(t)
		ws.Close()
	}
}

// A malformed early hello fails the handshake with the code the same fault
// has in a first message, after the 101 response.
func TestEarlyHelloRejected(t *testing.T) {
	f := newFixture(t, Config{})
	for _, tc := range []struct {
		name  string
		token string
		code  sdkproto.Code
	}{
		{"not base64url", "QQ==", sdkproto.CodeBadFrame},
		{"not a client hello", base64.RawURLEncoding.EncodeToString([]byte("hello")), sdkproto.CodeBadFrame},
		{"too large", strings.Repeat("A", 1400), sdkproto.CodeFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := websocket.Dialer{Subprotocols: []string{sdkproto.SubprotocolEarlyHello, sdkproto.Subprotocol, "mopush.hello." + tc.token}}
			ws, _, err := d.Dial(f.url, nil)
			require.NoError(t, err)
			defer ws.Close()
			require.Equal(t, sdkproto.SubprotocolEarlyHello, ws.Subprotocol())
			require.Equal(t, int(tc.code), closeCode(t, ws))
		})
	}
}
