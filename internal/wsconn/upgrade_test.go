package wsconn

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rfcKey and rfcAccept are the example of RFC 6455 §1.3.
const (
	rfcKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	rfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// upgradeRequest is a valid upgrade request, with the RFC's example key.
func upgradeRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/v1/connect", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", rfcKey)
	return r
}

// writeConn is a connection that keeps what is written to it; only Write,
// SetDeadline and Close are implemented.
type writeConn struct {
	net.Conn
	out      bytes.Buffer
	deadline bool // SetDeadline was called
}

func (c *writeConn) Write(p []byte) (int, error)   { return c.out.Write(p) }
func (c *writeConn) SetDeadline(t time.Time) error { c.deadline = t.IsZero(); return nil }
func (c *writeConn) Close() error                  { return nil }
func (c *writeConn) response(r *http.Request) (*http.Response, error) {
	return http.ReadResponse(bufio.NewReader(bytes.NewReader(c.out.Bytes())), r)
}

// hijacker is a ResponseWriter that hands over conn and a reader that
// already holds the bytes the client sent after the request.
type hijacker struct {
	*httptest.ResponseRecorder
	conn *writeConn
	br   *bufio.Reader
}

func newHijacker(t *testing.T, after []byte) *hijacker {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(after))
	if len(after) > 0 {
		_, err := br.Peek(len(after))
		require.NoError(t, err)
	}
	return &hijacker{ResponseRecorder: httptest.NewRecorder(), conn: &writeConn{}, br: br}
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(h.br, bufio.NewWriter(h.conn)), nil
}

func TestUpgradeRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		edit   func(r *http.Request)
		status int
		kind   error
	}{
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }, http.StatusMethodNotAllowed, ErrMethodNotAllowed},
		{"HTTP/1.0", func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.0", 1, 0 }, http.StatusBadRequest, ErrBadUpgrade},
		{"no Connection", func(r *http.Request) { r.Header.Del("Connection") }, http.StatusBadRequest, ErrBadUpgrade},
		{"Connection keep-alive", func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }, http.StatusBadRequest, ErrBadUpgrade},
		{"Connection upgraded", func(r *http.Request) { r.Header.Set("Connection", "upgraded") }, http.StatusBadRequest, ErrBadUpgrade},
		{"no Upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }, http.StatusBadRequest, ErrBadUpgrade},
		{"Upgrade h2c", func(r *http.Request) { r.Header.Set("Upgrade", "h2c") }, http.StatusBadRequest, ErrBadUpgrade},
		{"no version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, http.StatusUpgradeRequired, ErrBadVersion},
		{"version 8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, http.StatusUpgradeRequired, ErrBadVersion},
		{"two versions", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Version", "8") }, http.StatusUpgradeRequired, ErrBadVersion},
		{"no key", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }, http.StatusBadRequest, ErrBadUpgrade},
		{"key not base64", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "not a base64 key!!!!!!!!") }, http.StatusBadRequest, ErrBadUpgrade},
		{"key of 15 bytes", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA") }, http.StatusBadRequest, ErrBadUpgrade},
		{"key of 17 bytes", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA=") }, http.StatusBadRequest, ErrBadUpgrade},
		{"key with stray bits", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZR==") }, http.StatusBadRequest, ErrBadUpgrade},
		{"key unpadded", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ") }, http.StatusBadRequest, ErrBadUpgrade},
		{"two keys", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", rfcKey) }, http.StatusBadRequest, ErrBadUpgrade},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := upgradeRequest()
			tc.edit(r)
			w := newHijacker(t, nil)
			conn, buffered, err := Upgrade(w, r, "mopush.v1")
			require.ErrorIs(t, err, tc.kind)
			require.ErrorIs(t, err, ErrBadUpgrade)
			require.Nil(t, conn)
			require.Nil(t, buffered)
			require.Equal(t, tc.status, w.Code)
			require.Contains(t, w.Body.String(), "websocket: ")
			require.Zero(t, w.conn.out.Len(), "a refused request is not hijacked")
			switch tc.status {
			case http.StatusUpgradeRequired:
				require.Equal(t, "13", w.Header().Get("Sec-WebSocket-Version"))
			case http.StatusMethodNotAllowed:
				require.Equal(t, http.MethodGet, w.Header().Get("Allow"))
			}
		})
	}
}

func TestUpgradeWithoutHijack(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	conn, _, err := Upgrade(w, upgradeRequest(), "")
	require.Error(t, err)
	require.ErrorIs(t, err, http.ErrNotSupported)
	require.NotErrorIs(t, err, ErrBadUpgrade, "the request was fine")
	require.Nil(t, conn)
	require.Equal(t, http.StatusInternalServerError, w.Code)
}

func TestUpgradeAccepts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(r *http.Request)
	}{
		{"plain", func(*http.Request) {}},
		{"Connection list", func(r *http.Request) { r.Header.Set("Connection", "keep-alive, Upgrade") }},
		{"Connection lines", func(r *http.Request) {
			r.Header["Connection"] = []string{"keep-alive", "close,\tUPGRADE "}
		}},
		{"Upgrade case", func(r *http.Request) { r.Header.Set("Upgrade", "WebSocket") }},
		{"Upgrade list", func(r *http.Request) { r.Header.Set("Upgrade", "h2c, websocket") }},
		{"any Origin", func(r *http.Request) { r.Header.Set("Origin", "https://elsewhere.example") }},
		{"extensions offered", func(r *http.Request) {
			r.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := upgradeRequest()
			tc.edit(r)
			w := newHijacker(t, nil)
			conn, buffered, err := Upgrade(w, r, "mopush.v1")
			require.NoError(t, err)
			require.Same(t, w.conn, conn)
			require.Nil(t, buffered)
			require.True(t, w.conn.deadline, "the server's deadlines are cleared")
			resp, err := w.conn.response(r)
			require.NoError(t, err)
			require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			require.Equal(t, "websocket", resp.Header.Get("Upgrade"))
			require.Equal(t, "Upgrade", resp.Header.Get("Connection"))
			require.Equal(t, rfcAccept, resp.Header.Get("Sec-WebSocket-Accept"))
			require.Empty(t, resp.Header.Values("Sec-WebSocket-Extensions"))
			require.Empty(t, resp.Header.Values("Sec-WebSocket-Protocol"))
			require.Zero(t, w.Code-200, "nothing is written through the ResponseWriter")
		})
	}
}

func TestAcceptKey(t *testing.T) {
	t.Parallel()
	require.Equal(t, rfcAccept, acceptKey(rfcKey))
}

func TestUpgradeSubprotocol(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		offered []string
		server  string
		want    string
	}{
		{"offered alone", []string{"mopush.v1"}, "mopush.v1", "mopush.v1"},
		{"offered in a list", []string{"chat, mopush.v1"}, "mopush.v1", "mopush.v1"},
		{"offered on another line", []string{"chat", " mopush.v1 "}, "mopush.v1", "mopush.v1"},
		{"not offered", []string{"chat"}, "mopush.v1", ""},
		{"none offered", nil, "mopush.v1", ""},
		{"case differs", []string{"MOPUSH.V1"}, "mopush.v1", ""},
		{"prefix only", []string{"mopush"}, "mopush.v1", ""},
		{"server has none", []string{"chat"}, "", ""},
		{"empty element", []string{"chat,,"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := upgradeRequest()
			r.Header["Sec-Websocket-Protocol"] = tc.offered
			w := newHijacker(t, nil)
			_, _, err := Upgrade(w, r, tc.server)
			require.NoError(t, err)
			resp, err := w.conn.response(r)
			require.NoError(t, err)
			if tc.want == "" {
				require.Empty(t, resp.Header.Values("Sec-WebSocket-Protocol"))
			} else {
				require.Equal(t, []string{tc.want}, resp.Header.Values("Sec-WebSocket-Protocol"))
			}
		})
	}
}

func TestUpgradePipelined(t *testing.T) {
	t.Parallel()
	frames := slices.Concat(clientFrame(true, OpBinary, []byte("hello")), clientFrame(true, OpPing, nil)[:1])
	w := newHijacker(t, frames)
	_, buffered, err := Upgrade(w, upgradeRequest(), "")
	require.NoError(t, err)
	require.Equal(t, frames, buffered)

	buffered[0] ^= 0xff
	held, err := w.br.Peek(len(frames))
	require.NoError(t, err)
	require.Equal(t, frames, held, "buffered is a copy, not the reader's buffer")
}

// TestUpgradeOverTCP upgrades through a real server, with a client that
// sends its first frame in the same write as the request.
func TestUpgradeOverTCP(t *testing.T) {
	t.Parallel()
	done := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, pending, err := Upgrade(w, r, "mopush.v1")
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		var d Decoder
		for {
			m, err := ReadMessage(conn, &d, &pending)
			if err != nil {
				done <- err
				return
			}
			if _, err := conn.Write(AppendFrame(nil, m.Op, m.Payload)); err != nil {
				done <- err
				return
			}
		}
	}))
	t.Cleanup(srv.Close)

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	req := "GET /v1/connect HTTP/1.1\r\nHost: device\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + rfcKey + "\r\nSec-WebSocket-Protocol: mopush.v1\r\n\r\n"
	_, err = c.Write(slices.Concat([]byte(req), clientFrame(true, OpBinary, []byte("first"))))
	require.NoError(t, err)

	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Equal(t, rfcAccept, resp.Header.Get("Sec-WebSocket-Accept"))
	require.Equal(t, "mopush.v1", resp.Header.Get("Sec-WebSocket-Protocol"))

	want := AppendFrame(nil, OpBinary, []byte("first"))
	got := make([]byte, len(want))
	_, err = io.ReadFull(br, got)
	require.NoError(t, err)
	require.Equal(t, want, got, "the pipelined frame is echoed")

	// A frame sent after the 101 is read too.
	_, err = c.Write(clientFrame(true, OpText, []byte("second")))
	require.NoError(t, err)
	want = AppendFrame(nil, OpText, []byte("second"))
	got = make([]byte, len(want))
	_, err = io.ReadFull(br, got)
	require.NoError(t, err)
	require.Equal(t, want, got)

	require.NoError(t, c.Close())
	require.ErrorIs(t, <-done, io.EOF)
}

func TestHasToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		values []string
		token  string
		fold   bool
		want   bool
	}{
		{[]string{"Upgrade"}, "upgrade", true, true},
		{[]string{"Upgrade"}, "upgrade", false, false},
		{[]string{"keep-alive,upgrade"}, "upgrade", true, true},
		{[]string{"keep-alive", " \tupgrade\t "}, "upgrade", true, true},
		{[]string{"upgraded"}, "upgrade", true, false},
		{[]string{"up grade"}, "upgrade", true, false},
		{[]string{""}, "upgrade", true, false},
		{[]string{",,"}, "", false, false},
		{[]string{"webſocket"}, "websocket", true, false}, // no Unicode folding
		{nil, "upgrade", true, false},
	} {
		require.Equal(t, tc.want, hasToken(tc.values, tc.token, tc.fold), "%q in %q", tc.token, tc.values)
	}
}

// Hijack returns the response Upgrade would write and writes nothing, so
// that the caller can send it with its first frames.
func TestHijackLeavesTheResponseToTheCaller(t *testing.T) {
	t.Parallel()
	r := upgradeRequest()
	r.Header.Set("Sec-WebSocket-Protocol", "mopush.v1.hello, mopush.v1")
	w := newHijacker(t, []byte("first"))
	conn, buffered, response, err := Hijack(w, r, "mopush.v1.hello")
	require.NoError(t, err)
	require.Same(t, w.conn, conn)
	require.Equal(t, []byte("first"), buffered)
	require.Zero(t, w.conn.out.Len(), "nothing is written")
	require.True(t, w.conn.deadline, "the server's deadlines are cleared")

	up := newHijacker(t, nil)
	_, _, err = Upgrade(up, r, "mopush.v1.hello")
	require.NoError(t, err)
	require.Equal(t, up.conn.out.Bytes(), response)
	_, err = w.conn.Write(response)
	require.NoError(t, err)
	resp, err := w.conn.response(r)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Equal(t, "mopush.v1.hello", resp.Header.Get("Sec-WebSocket-Protocol"))
}
