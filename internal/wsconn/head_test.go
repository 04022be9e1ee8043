package wsconn

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// connectHead is a device connect's head as the SDK sends it, with the
// RFC's example key.
const connectHead = "GET /v1/connect?device_id=d1 HTTP/1.1\r\n" +
	"Host: 127.0.0.1:8080\r\n" +
	"User-Agent: Go-http-client/1.1\r\n" +
	"Connection: Upgrade\r\n" +
	"Upgrade: websocket\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Sec-WebSocket-Key: " + rfcKey + "\r\n" +
	"Sec-WebSocket-Protocol: mopush.v1, chat\r\n" +
	"\r\n"

func TestParseHead(t *testing.T) {
	after := "\x82\x85frame"
	h, n, err := ParseHead([]byte(connectHead + after))
	require.NoError(t, err)
	require.Equal(t, len(connectHead), n)
	require.Equal(t, "GET", h.Method)
	require.Equal(t, "/v1/connect?device_id=d1", h.Target)
	require.Equal(t, "/v1/connect", h.Path())
	require.Equal(t, "device_id=d1", h.RawQuery())
	require.Equal(t, 1, h.Minor)
	require.Equal(t, []string{"Upgrade"}, h.Values("connection"))
	require.Equal(t, []string{"mopush.v1, chat"}, h.Values("SEC-WEBSOCKET-PROTOCOL"))
	require.Nil(t, h.Values("Origin"))

	// Bare LFs, repeated fields in order, whitespace around values.
	lf := "GET /v1/connect HTTP/1.1\nHost: h\nX-A: one \nX-A:\ttwo\n\n"
	h, n, err = ParseHead([]byte(lf))
	require.NoError(t, err)
	require.Equal(t, len(lf), n)
	require.Equal(t, []string{"one", "two"}, h.Values("x-a"))
	require.Empty(t, h.RawQuery())

	// Escapes are checked in the path, not in the query (as net/http).
	h, _, err = ParseHead([]byte("GET /v1/%63onnect?device_id=%zz HTTP/1.1\r\nHost: h\r\n\r\n"))
	require.NoError(t, err)
	require.Equal(t, "device_id=%zz", h.RawQuery())

	// HTTP/1.0 needs no Host; the upgrade check refuses it later.
	h, _, err = ParseHead([]byte("GET / HTTP/1.0\r\n\r\n"))
	require.NoError(t, err)
	require.Equal(t, 0, h.Minor)
}

func TestParseHeadWaitsForTheEmptyLine(t *testing.T) {
	for i := range len(connectHead) {
		_, n, err := ParseHead([]byte(connectHead[:i]))
		require.NoError(t, err, "prefix of %d bytes", i)
		require.Zero(t, n, "prefix of %d bytes", i)
	}
}

func TestParseHeadRefuses(t *testing.T) {
	const ok = "Host: h\r\n"
	for name, head := range map[string]string{
		"no target":            "GET HTTP/1.1\r\n" + ok + "\r\n",
		"empty line first":     "\r\n\r\n",
		"two spaces":           "GET  / HTTP/1.1\r\n" + ok + "\r\n",
		"method not a token":   "G(T / HTTP/1.1\r\n" + ok + "\r\n",
		"byte in target":       "GET /\x01 HTTP/1.1\r\n" + ok + "\r\n",
		"not in ASCII":         "GET /\xc3\xa9 HTTP/1.1\r\n" + ok + "\r\n",
		"bad escape":           "GET /%0 HTTP/1.1\r\n" + ok + "\r\n",
		"escape cut short":     "GET /a% HTTP/1.1\r\n" + ok + "\r\n",
		"HTTP/2":               "GET / HTTP/2.0\r\n" + ok + "\r\n",
		"lower-case protocol":  "GET / http/1.1\r\n" + ok + "\r\n",
		"HTTP/1.x":             "GET / HTTP/1.x\r\n" + ok + "\r\n",
		"no colon":             "GET / HTTP/1.1\r\n" + ok + "Upgrade websocket\r\n\r\n",
		"folded":               "GET / HTTP/1.1\r\n" + ok + "X-A: a\r\n b\r\n\r\n",
		"space before colon":   "GET / HTTP/1.1\r\n" + ok + "Upgrade : websocket\r\n\r\n",
		"empty name":           "GET / HTTP/1.1\r\n" + ok + ": websocket\r\n\r\n",
		"control in value":     "GET / HTTP/1.1\r\n" + ok + "X-A: a\x00b\r\n\r\n",
		"CR in value":          "GET / HTTP/1.1\r\n" + ok + "X-A: a\rb\r\n\r\n",
		"no Host":              "GET / HTTP/1.1\r\n\r\n",
		"two Hosts":            "GET / HTTP/1.1\r\n" + ok + ok + "\r\n",
		"Content-Length":       "GET / HTTP/1.1\r\n" + ok + "Content-Length: 5\r\n\r\n",
		"Transfer-Encoding":    "GET / HTTP/1.1\r\n" + ok + "Transfer-Encoding: chunked\r\n\r\n",
		"Content-Length twice": "GET / HTTP/1.1\r\n" + ok + "Content-Length: 0\r\ncontent-length: 1\r\n\r\n",
	} {
		_, n, err := ParseHead([]byte(head))
		require.ErrorIs(t, err, ErrBadRequest, name)
		require.ErrorIs(t, err, ErrBadUpgrade, name)
		require.Zero(t, n, name)
		resp := readAnswer(t, AppendRefusal(nil, err))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
	}
	// A Content-Length of 0 is no body.
	_, n, err := ParseHead([]byte("GET / HTTP/1.1\r\n" + ok + "Content-Length: 0\r\n\r\n"))
	require.NoError(t, err)
	require.NotZero(t, n)
}

// readAnswer parses an answer AppendRefusal or AppendError made.
func readAnswer(t *testing.T, b []byte) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
	require.NoError(t, err)
	return resp
}

func TestAcceptHead(t *testing.T) {
	h, _, err := ParseHead([]byte(connectHead))
	require.NoError(t, err)
	response, err := AcceptHead(&h, testSubprotocol)
	require.NoError(t, err)
	resp := readAnswer(t, response)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Equal(t, rfcAccept, resp.Header.Get("Sec-WebSocket-Accept"))
	require.Equal(t, testSubprotocol, resp.Header.Get("Sec-WebSocket-Protocol"))

	response, err = AcceptHead(&h, "other")
	require.NoError(t, err)
	require.Empty(t, readAnswer(t, response).Header.Values("Sec-WebSocket-Protocol"), "not offered: not echoed")

	for name, c := range map[string]struct {
		from, to string
		status   int
		header   [2]string
		kind     error
	}{
		"method":      {"GET ", "PUT ", http.StatusMethodNotAllowed, [2]string{"Allow", "GET"}, ErrMethodNotAllowed},
		"HTTP/1.0":    {"HTTP/1.1\r\n", "HTTP/1.0\r\n", http.StatusBadRequest, [2]string{}, ErrBadUpgrade},
		"connection":  {"Connection: Upgrade", "Connection: keep-alive", http.StatusBadRequest, [2]string{}, ErrBadUpgrade},
		"upgrade":     {"Upgrade: websocket", "Upgrade: h2c", http.StatusBadRequest, [2]string{}, ErrBadUpgrade},
		"version":     {"Version: 13", "Version: 8", http.StatusUpgradeRequired, [2]string{"Sec-WebSocket-Version", "13"}, ErrBadVersion},
		"key":         {rfcKey, "c2hvcnQ=", http.StatusBadRequest, [2]string{}, ErrBadUpgrade},
		"no key":      {"Sec-WebSocket-Key", "X-Key", http.StatusBadRequest, [2]string{}, ErrBadUpgrade},
		"two version": {"Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n", http.StatusUpgradeRequired, [2]string{}, ErrBadVersion},
	} {
		h, _, err := ParseHead([]byte(strings.Replace(connectHead, c.from, c.to, 1)))
		require.NoError(t, err, name)
		response, err := AcceptHead(&h, testSubprotocol)
		require.Nil(t, response, name)
		require.ErrorIs(t, err, c.kind, name)
		require.ErrorIs(t, err, ErrBadUpgrade, name)
		resp := readAnswer(t, AppendRefusal(nil, err))
		require.Equal(t, c.status, resp.StatusCode, name)
		require.True(t, resp.Close, name)
		if c.header[0] != "" {
			require.Equal(t, c.header[1], resp.Header.Get(c.header[0]), name)
		}
	}
}

func TestAppendError(t *testing.T) {
	resp := readAnswer(t, AppendError(nil, http.StatusServiceUnavailable, "Retry-After: 1\r\n", "connector draining"))
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.True(t, resp.Close)
	var body bytes.Buffer
	_, err := body.ReadFrom(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "connector draining\n", body.String())

	resp = readAnswer(t, AppendRefusal(nil, HeadTooLarge(100)))
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	resp = readAnswer(t, AppendRefusal(nil, errors.New("other")))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// FuzzParseHead checks ParseHead against net/http's request reader: a head
// ParseHead accepts is a request net/http reads too, with the same method,
// target, protocol and fields, and the same length.
func FuzzParseHead(f *testing.F) {
	f.Add([]byte(connectHead))
	f.Add([]byte("GET /v1/connect HTTP/1.1\nHost: h\nX-A: one \nX-A:\ttwo\n\nrest"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHead(b)
		if err != nil {
			require.ErrorIs(t, err, ErrBadRequest)
			require.Zero(t, n)
			return
		}
		if n == 0 {
			require.NotContains(t, string(b), "\n\n")
			require.NotContains(t, string(b), "\n\r\n")
			return
		}
		require.LessOrEqual(t, n, len(b))
		require.True(t, bytes.HasSuffix(b[:n], []byte("\n\n")) || bytes.HasSuffix(b[:n], []byte("\n\r\n")))
		br := bufio.NewReader(bytes.NewReader(b[:n]))
		r, rerr := http.ReadRequest(br)
		if rerr != nil {
			// net/http refuses some targets that are bytes ParseHead lets
			// through (the connector reads only its path and query).
			require.NotEqual(t, "/", h.Target[:1], "net/http refused %q: %v", b[:n], rerr)
			return
		}
		require.Zero(t, br.Buffered(), "net/http read the same length")
		require.Equal(t, r.Method, h.Method)
		require.Equal(t, r.RequestURI, h.Target)
		require.Equal(t, r.ProtoMinor, h.Minor)
		for name, vs := range r.Header {
			require.Equal(t, vs, h.Values(name), name)
		}
	})
}

// HeadEnd from an offset finds the same end as from the start, as long as
// the offset is at most 3 bytes past where a previous search stopped.
func TestHeadEndFrom(t *testing.T) {
	for _, head := range []string{connectHead, "GET / HTTP/1.0\n\n", "GET / HTTP/1.1\r\nHost: h\n\r\n"} {
		b := []byte(head + "after")
		want := len(head)
		require.Equal(t, want, HeadEnd(b, 0), "%q", head)
		for cut := range len(head) {
			// a search of b[:cut] found nothing; the next starts 3 bytes back
			require.Zero(t, HeadEnd(b[:cut], 0), "%q cut at %d", head, cut)
			require.Equal(t, want, HeadEnd(b, max(cut-3, 0)), "%q from %d", head, cut-3)
		}
	}
}
