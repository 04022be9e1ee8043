package wsconn

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// The interoperability tests use gorilla/websocket as the client.

const testSubprotocol = "mopush.v1"

// failAfter bounds a wait in these tests; it is a failure deadline for a
// broken implementation, not a measured time.
const failAfter = 10 * time.Second

// serveWS starts a server whose handler upgrades and hands the connection
// to fn, and returns its ws:// address. Cleanup waits for the handlers,
// after the clients dialled in the test have closed.
func serveWS(t *testing.T, fn func(conn net.Conn, pending []byte)) string {
	t.Helper()
	var handlers sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		conn, pending, err := Upgrade(w, r, testSubprotocol)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		fn(conn, pending)
	}))
	t.Cleanup(func() {
		srv.Close()
		handlers.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// dial connects a gorilla client and closes it at cleanup.
func dial(t *testing.T, d websocket.Dialer, url string) *websocket.Conn {
	t.Helper()
	ws, resp, err := d.DialContext(t.Context(), url, nil)
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	return ws
}

// closeSeen is a close frame the server received.
type closeSeen struct {
	code   int
	reason string
}

// echo is a server that answers each data message with the same message,
// written as a header and the payload; each ping with a pong; the binary
// message "close" with a close frame 4002; and a close frame with one of
// the same code, reporting it on closes if that is not nil.
func echo(t *testing.T, closes chan<- closeSeen) func(net.Conn, []byte) {
	return func(conn net.Conn, pending []byte) {
		d := Decoder{MaxMessage: 1 << 20}
		var hdr []byte
		closing := false
		for {
			m, err := ReadMessage(conn, &d, &pending)
			if err != nil {
				if errors.Is(err, ErrProtocol) || errors.Is(err, ErrTooLarge) {
					t.Errorf("server: %v", err)
				}
				return
			}
			switch m.Op {
			case OpText, OpBinary:
				if string(m.Payload) == "close" {
					closing = true
					_, err = conn.Write(AppendClose(nil, 4002, "send queue full"))
					break
				}
				hdr = AppendHeader(hdr[:0], m.Op, len(m.Payload))
				_, err = (&net.Buffers{hdr, m.Payload}).WriteTo(conn)
			case OpPing:
				_, err = conn.Write(AppendFrame(nil, OpPong, m.Payload))
			case OpClose:
				code, reason := ParseClose(m.Payload)
				if closes != nil {
					closes <- closeSeen{code, reason}
				}
				if !closing {
					conn.Write(AppendClose(nil, code, "")) //nolint:errcheck // closing anyway
				}
				return
			}
			if err != nil {
				return
			}
		}
	}
}

func TestInteropRoundTrip(t *testing.T) {
	t.Parallel()
	ws := dial(t, websocket.Dialer{}, serveWS(t, echo(t, nil)))
	for _, size := range []int{0, 1, 125, 126, 65535, 65536, 200_000} {
		payload := repeat(size)
		require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, payload))
		typ, got, err := ws.ReadMessage()
		require.NoError(t, err, "size %d", size)
		require.Equal(t, websocket.BinaryMessage, typ)
		require.True(t, bytes.Equal(payload, got), "size %d: echo differs", size)
	}
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("text")))
	typ, got, err := ws.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, websocket.TextMessage, typ)
	require.Equal(t, "text", string(got))
}

// recordConn keeps the bytes read through it.
type recordConn struct {
	net.Conn
	seen []byte
}

func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.seen = append(c.seen, p[:n]...)
	return n, err
}

// firstBytes walks a stream of client frames and returns the first byte of
// each.
func firstBytes(t *testing.T, stream []byte) []byte {
	t.Helper()
	var out []byte
	for len(stream) > 0 {
		require.GreaterOrEqual(t, len(stream), 2)
		size, length, err := payloadLength(stream)
		require.NoError(t, err)
		require.NotZero(t, size)
		out = append(out, stream[0])
		stream = stream[size+4+int(length):]
	}
	return out
}

func TestInteropFragmented(t *testing.T) {
	t.Parallel()
	raw := make(chan []byte, 1)
	url := serveWS(t, func(conn net.Conn, pending []byte) {
		rc := &recordConn{Conn: conn, seen: slices.Clone(pending)}
		echo(t, nil)(rc, pending)
		raw <- rc.seen
	})
	// A small write buffer makes gorilla send a frame each time it fills.
	ws := dial(t, websocket.Dialer{WriteBufferSize: 64}, url)
	var pongs []string
	ws.SetPongHandler(func(s string) error { pongs = append(pongs, s); return nil })

	payload := repeat(1000)
	w, err := ws.NextWriter(websocket.BinaryMessage)
	require.NoError(t, err)
	for i, part := range slices.Collect(slices.Chunk(payload, 100)) {
		_, err := w.Write(part)
		require.NoError(t, err)
		if i == 4 {
			// gorilla lets a control frame go out between the fragments.
			require.NoError(t, ws.WriteControl(websocket.PingMessage, []byte("mid"), time.Now().Add(failAfter)))
		}
	}
	require.NoError(t, w.Close())

	typ, got, err := ws.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, websocket.BinaryMessage, typ)
	require.Equal(t, payload, got)
	require.Equal(t, []string{"mid"}, pongs, "the ping between fragments is answered")

	require.NoError(t, ws.Close())
	select {
	case seen := <-raw:
		firsts := firstBytes(t, seen)
		require.Greater(t, len(firsts), 10, "gorilla sent frames of 64 bytes")
		require.Equal(t, byte(OpBinary), firsts[0], "binary, FIN clear")
		require.Contains(t, firsts, finBit|byte(OpPing))
		require.Equal(t, finBit|byte(OpContinuation), firsts[len(firsts)-1])
	case <-time.After(failAfter):
		t.Fatal("server did not finish")
	}
}

func TestInteropPing(t *testing.T) {
	t.Parallel()
	ws := dial(t, websocket.Dialer{}, serveWS(t, echo(t, nil)))
	var pongs []string
	ws.SetPongHandler(func(s string) error { pongs = append(pongs, s); return nil })
	require.NoError(t, ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(failAfter)))
	require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, []byte("after")))
	_, got, err := ws.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "after", string(got))
	require.Equal(t, []string{"are you there"}, pongs)
}

func TestInteropServerClose(t *testing.T) {
	t.Parallel()
	closes := make(chan closeSeen, 1)
	ws := dial(t, websocket.Dialer{}, serveWS(t, echo(t, closes)))
	require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, []byte("close")))
	_, _, err := ws.ReadMessage()
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 4002, ce.Code)
	require.Equal(t, "send queue full", ce.Text)
	select {
	case seen := <-closes:
		require.Equal(t, 4002, seen.code, "gorilla answers with the same code")
	case <-time.After(failAfter):
		t.Fatal("server saw no close frame")
	}
}

func TestInteropClientClose(t *testing.T) {
	t.Parallel()
	closes := make(chan closeSeen, 1)
	ws := dial(t, websocket.Dialer{}, serveWS(t, echo(t, closes)))
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	require.NoError(t, ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(failAfter)))
	_, _, err := ws.ReadMessage()
	require.True(t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "got %v", err)
	select {
	case seen := <-closes:
		require.Equal(t, closeSeen{1000, "bye"}, seen)
	case <-time.After(failAfter):
		t.Fatal("server saw no close frame")
	}
}

func TestInteropHandshake(t *testing.T) {
	t.Parallel()
	url := serveWS(t, echo(t, nil))
	t.Run("subprotocol offered", func(t *testing.T) {
		t.Parallel()
		ws := dial(t, websocket.Dialer{Subprotocols: []string{"chat", testSubprotocol}}, url)
		require.Equal(t, testSubprotocol, ws.Subprotocol())
	})
	t.Run("subprotocol not offered", func(t *testing.T) {
		t.Parallel()
		ws := dial(t, websocket.Dialer{Subprotocols: []string{"chat"}}, url)
		require.Empty(t, ws.Subprotocol())
	})
	t.Run("compression offered", func(t *testing.T) {
		t.Parallel()
		ws := dial(t, websocket.Dialer{EnableCompression: true}, url)
		payload := bytes.Repeat([]byte("compressible "), 100)
		require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, payload))
		_, got, err := ws.ReadMessage()
		require.NoError(t, err, "the extension was refused, so gorilla must not compress")
		require.Equal(t, payload, got)
	})
}
