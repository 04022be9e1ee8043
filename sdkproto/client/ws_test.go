package client

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/wsconn"
	"github.com/mopush/mopush/sdkproto"
)

var plainDial = (&net.Dialer{}).DialContext

// wsServer serves each upgrade with handle, on TLS when secure is set; it
// returns the ws or wss URL and the server.
func wsServer(t *testing.T, secure bool, protocols []string, handle func(ws *websocket.Conn)) (string, *httptest.Server) {
	t.Helper()
	up := websocket.Upgrader{Subprotocols: protocols}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		handle(ws)
	})
	srv := httptest.NewUnstartedServer(h)
	if secure {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), srv
}

// The client speaks to another implementation of the protocol: messages of
// every length class both ways, the server's ping answered with a pong,
// and the server's close frame returned with its code and answered.
func TestWSConnWithAnotherImplementation(t *testing.T) {
	pong := make(chan string, 1)
	closed := make(chan error, 1)
	u, _ := wsServer(t, false, []string{"b"}, func(ws *websocket.Conn) {
		ws.SetPongHandler(func(s string) error { pong <- s; return nil })
		for range 4 {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			ws.WriteMessage(websocket.BinaryMessage, msg) //nolint:errcheck // the client checks the echo
		}
		ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second)) //nolint:errcheck // the test waits for the pong
		ws.WriteMessage(websocket.BinaryMessage, []byte("after the ping"))                           //nolint:errcheck // as above
		// The pong comes in while the server reads for the client's close.
		go func() {
			ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "draining")) //nolint:errcheck // the client reads it
		}()
		_, _, err := ws.ReadMessage()
		closed <- err
	})
	w, err := dialWS(t.Context(), u+"/v1/connect?x=1", []string{"a", "b"}, plainDial, nil)
	require.NoError(t, err)
	defer w.Close()
	require.Equal(t, "b", w.Subprotocol())
	// Payload lengths in one byte, at the 16-bit boundary, at its top.
	for _, n := range []int{0, 125, 126, 65535} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		require.NoError(t, w.WriteMessage(msg))
		got, err := w.ReadMessage()
		require.NoError(t, err)
		require.True(t, bytes.Equal(msg, got), "echo of %d bytes", n)
	}
	got, err := w.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "after the ping", string(got))
	_, err = w.ReadMessage()
	var ce *closeError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 4001, ce.code)
	require.Equal(t, "draining", ce.text)
	var pe *sdkproto.PeerError
	require.ErrorAs(t, closeErr(err), &pe)
	require.Equal(t, sdkproto.Code(4001), pe.Code)
	_, again := w.ReadMessage()
	require.Equal(t, err, again, "reads after the close return its error")
	require.Equal(t, "are you there", within(t, pong), "the ping's pong")
	var serverSaw *websocket.CloseError
	require.ErrorAs(t, within(t, closed), &serverSaw)
	require.Equal(t, 4001, serverSaw.Code, "the client answers the close")
	require.ErrorIs(t, w.WriteMessage([]byte("late")), errClosing)
}

// within returns the value ch gives, failing the test if none comes in 10 s.
func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came in 10 s")
		panic("unreachable")
	}
}

func TestWSConnRefusesAMessageOverTheLimit(t *testing.T) {
	u, _ := wsServer(t, false, nil, func(ws *websocket.Conn) {
		ws.WriteMessage(websocket.BinaryMessage, make([]byte, sdkproto.DefaultMaxFrame+1)) //nolint:errcheck // the client refuses it
		ws.ReadMessage()                                                                   //nolint:errcheck // until the client leaves
	})
	w, err := dialWS(t.Context(), u, nil, plainDial, nil)
	require.NoError(t, err)
	defer w.Close()
	require.Empty(t, w.Subprotocol())
	_, err = w.ReadMessage()
	require.ErrorIs(t, err, wsconn.ErrTooLarge)
}

func TestDialWSOverTLS(t *testing.T) {
	u, srv := wsServer(t, true, []string{sdkproto.Subprotocol}, func(ws *websocket.Conn) {
		ws.WriteMessage(websocket.BinaryMessage, []byte("secure")) //nolint:errcheck // the client reads it
		ws.ReadMessage()                                           //nolint:errcheck // until the client leaves
	})
	require.True(t, strings.HasPrefix(u, "wss://"))
	tlsConf := srv.Client().Transport.(*http.Transport).TLSClientConfig
	w, err := dialWS(t.Context(), u, []string{sdkproto.Subprotocol}, plainDial, tlsConf)
	require.NoError(t, err)
	defer w.Close()
	require.Equal(t, sdkproto.Subprotocol, w.Subprotocol())
	got, err := w.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "secure", string(got))

	// Without the test server's certificate in its roots, the dial fails.
	_, err = dialWS(t.Context(), u, nil, plainDial, nil)
	require.Error(t, err)
}

func TestDialWSRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not mine", http.StatusMisdirectedRequest)
	}))
	t.Cleanup(srv.Close)
	_, err := dialWS(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil, plainDial, nil)
	var refused *wsconn.RefusedError
	require.ErrorAs(t, err, &refused)
	require.Equal(t, http.StatusMisdirectedRequest, refused.Status)

	for _, u := range []string{"http://127.0.0.1:1/", "ws://", "ws://user@127.0.0.1:1/", "ws://[::1"} {
		_, err := dialWS(t.Context(), u, nil, plainDial, nil)
		require.Error(t, err, u)
	}
}

// A server that never answers the upgrade is given up on when the
// context ends.
func TestDialWSGivesUpWithTheContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			c.Read(make([]byte, 4096)) //nolint:errcheck // reads the head, answers nothing
			c.Read(make([]byte, 1))    //nolint:errcheck // until the client leaves
		}
	}()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = dialWS(ctx, "ws://"+ln.Addr().String()+"/", nil, plainDial, nil)
	require.ErrorIs(t, err, context.Canceled)
}

// Frames a server sends in the same write as its 101 answer are read as
// the first messages (a server that takes an early hello answers it at
// once).
func TestDialWSKeepsFramesBehindTheHead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 0, 4096)
		for {
			n, err := c.Read(buf[len(buf):cap(buf)])
			if err != nil {
				return
			}
			buf = buf[:len(buf)+n]
			h, end, err := wsconn.ParseHead(buf)
			if err != nil || end == 0 {
				continue
			}
			resp, err := wsconn.AcceptHead(&h, "p")
			if err != nil {
				return
			}
			resp = wsconn.AppendFrame(resp, wsconn.OpBinary, []byte("first"))
			resp = wsconn.AppendFrame(resp, wsconn.OpBinary, []byte("second"))
			c.Write(resp)   //nolint:errcheck // the client reads it
			c.Read(buf[:1]) //nolint:errcheck // until the client leaves
			return
		}
	}()
	w, err := dialWS(t.Context(), "ws://"+ln.Addr().String()+"/v1/connect", []string{"p"}, plainDial, nil)
	require.NoError(t, err)
	defer w.Close()
	for _, want := range []string{"first", "second"} {
		got, err := w.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, want, string(got))
	}
	require.False(t, errors.Is(w.writeClose(1000, time.Now().Add(time.Second)), errClosing))
	require.ErrorIs(t, w.writeClose(1000, time.Now().Add(time.Second)), errClosing, "one close frame")
}

// A wss server that never answers the upgrade is given up on when the
// context ends, after the TLS handshake.
func TestDialWSOverTLSGivesUpWithTheContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	tlsConf := srv.Client().Transport.(*http.Transport).TLSClientConfig
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := dialWS(ctx, "wss"+strings.TrimPrefix(srv.URL, "https"), nil, plainDial, tlsConf)
	require.ErrorIs(t, err, context.Canceled)
}
