package wsconn

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestClientHandshakeWithTheServerSide runs the opening handshake through
// this package's two sides: the server's parser reads the client's head,
// and the client's check accepts the server's answer.
func TestClientHandshakeWithTheServerSide(t *testing.T) {
	key := NewKey()
	raw, err := base64.StdEncoding.DecodeString(key)
	require.NoError(t, err)
	require.Len(t, raw, 16)
	require.NotEqual(t, key, NewKey(), "keys are fresh")

	offered := []string{"mopush.v1.early", testSubprotocol, "h.abc"}
	req := AppendClientHead(nil, "127.0.0.1:8080", "/v1/connect?device_id=d1", key, offered)
	h, n, err := ParseHead(req)
	require.NoError(t, err)
	require.Equal(t, len(req), n)
	require.Equal(t, "/v1/connect", h.Path())
	require.Equal(t, "device_id=d1", h.RawQuery())
	require.Equal(t, []string{"127.0.0.1:8080"}, h.Values("Host"))
	require.Equal(t, []string{"mopush.v1.early, " + testSubprotocol + ", h.abc"}, h.Values("Sec-WebSocket-Protocol"))

	// net/http reads the same request.
	hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req)))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", hr.Host)
	require.Equal(t, key, hr.Header.Get("Sec-WebSocket-Key"))

	resp, err := AcceptHead(&h, testSubprotocol)
	require.NoError(t, err)
	r, n, err := ParseResponse(append(resp, 0x82, 0x01, 'x')) // a frame right behind the head
	require.NoError(t, err)
	require.Equal(t, len(resp), n)
	require.Equal(t, 101, r.Status)
	require.Equal(t, "Switching Protocols", r.Reason)
	sub, err := CheckResponse(&r, key, offered)
	require.NoError(t, err)
	require.Equal(t, testSubprotocol, sub)

	// Without a protocol of its choice the server names none.
	resp, err = AcceptHead(&h, "other")
	require.NoError(t, err)
	r, _, err = ParseResponse(resp)
	require.NoError(t, err)
	sub, err = CheckResponse(&r, key, offered)
	require.NoError(t, err)
	require.Empty(t, sub)

	// Without protocols the head has no Sec-WebSocket-Protocol field.
	h, _, err = ParseHead(AppendClientHead(nil, "example.com", "/", key, nil))
	require.NoError(t, err)
	require.Empty(t, h.Values("Sec-WebSocket-Protocol"))
}

func TestParseResponseWaitsForTheEmptyLine(t *testing.T) {
	full := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
	for i := range len(full) {
		_, n, err := ParseResponse([]byte(full[:i]))
		require.NoError(t, err, "prefix of %d bytes", i)
		require.Zero(t, n, "prefix of %d bytes", i)
	}
	_, n, err := ParseResponse([]byte(strings.ReplaceAll(full, "\r\n", "\n")))
	require.NoError(t, err)
	require.Equal(t, len(full)-3, n, "bare LFs end lines too")
}

func TestParseResponseRefuses(t *testing.T) {
	for name, head := range map[string]string{
		"not http":         "SSH-2.0-OpenSSH\r\n\r\n",
		"http/2":           "HTTP/2.0 101 Switching\r\n\r\n",
		"short status":     "HTTP/1.1 10 x\r\n\r\n",
		"status letters":   "HTTP/1.1 1x1 x\r\n\r\n",
		"status 600":       "HTTP/1.1 600 x\r\n\r\n",
		"no status":        "HTTP/1.1\r\n\r\n",
		"folded field":     "HTTP/1.1 101 x\r\nUpgrade: websocket\r\n more\r\n\r\n",
		"no colon":         "HTTP/1.1 101 x\r\nUpgrade websocket\r\n\r\n",
		"space in name":    "HTTP/1.1 101 x\r\nUp grade: websocket\r\n\r\n",
		"control in value": "HTTP/1.1 101 x\r\nUpgrade: web\x01socket\r\n\r\n",
	} {
		_, _, err := ParseResponse([]byte(head))
		require.ErrorIs(t, err, ErrBadResponse, name)
	}
}

func TestCheckResponse(t *testing.T) {
	key := rfcKey
	good := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + rfcAccept + "\r\n"
	offered := []string{"a", "b"}
	check := func(head string) (string, error) {
		t.Helper()
		r, n, err := ParseResponse([]byte(head + "\r\n"))
		require.NoError(t, err)
		require.Positive(t, n)
		return CheckResponse(&r, key, offered)
	}
	sub, err := check(good)
	require.NoError(t, err)
	require.Empty(t, sub)
	sub, err = check(good + "Sec-WebSocket-Protocol: b\r\n")
	require.NoError(t, err)
	require.Equal(t, "b", sub)
	_, err = check("HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n" +
		"sec-websocket-accept: " + rfcAccept + "\r\n")
	require.NoError(t, err, "names and the tokens' case do not matter")

	_, err = check("HTTP/1.1 421 Misdirected Request\r\nContent-Length: 0\r\n")
	var refused *RefusedError
	require.ErrorAs(t, err, &refused)
	require.Equal(t, 421, refused.Status)
	require.Equal(t, "Misdirected Request", refused.Reason)
	require.Contains(t, err.Error(), "421 Misdirected Request")
	require.False(t, errors.Is(err, ErrBadResponse))

	for name, head := range map[string]string{
		"no upgrade":         strings.Replace(good, "Upgrade: websocket\r\n", "", 1),
		"upgrade h2c":        strings.Replace(good, "Upgrade: websocket", "Upgrade: h2c", 1),
		"no connection":      strings.Replace(good, "Connection: Upgrade\r\n", "", 1),
		"wrong accept":       strings.Replace(good, rfcAccept, acceptKey(NewKey()), 1),
		"two accepts":        good + "Sec-WebSocket-Accept: " + rfcAccept + "\r\n",
		"no accept":          strings.Replace(good, "Sec-WebSocket-Accept: "+rfcAccept+"\r\n", "", 1),
		"an extension":       good + "Sec-WebSocket-Extensions: permessage-deflate\r\n",
		"protocol not asked": good + "Sec-WebSocket-Protocol: c\r\n",
		"two protocols":      good + "Sec-WebSocket-Protocol: a, b\r\n",
		"protocol repeated":  good + "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: a\r\n",
	} {
		_, err := check(head)
		require.ErrorIs(t, err, ErrBadResponse, name)
	}
}

// A masked frame of every kind decodes on the server side to what was
// framed, and the Decoder of a client refuses it.
func TestMaskedFramesDecodeOnTheServerSide(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	payload := repeat(300)
	stream := slices.Concat(
		AppendMaskedFrame(nil, OpBinary, payload, key),
		AppendMaskedFrame(nil, OpPong, payload[:125], key),
		AppendMaskedClose(nil, 4001, "shutdown", key),
		AppendMaskedClose(nil, 0, "ignored", key),
	)
	got := decodeAll(t, 4096, stream)
	require.Empty(t, got.err)
	require.Len(t, got.msgs, 4)
	require.Equal(t, Message{Op: OpBinary, Payload: payload}, got.msgs[0])
	require.Equal(t, Message{Op: OpPong, Payload: payload[:125]}, got.msgs[1])
	code, reason := ParseClose(got.msgs[2].Payload)
	require.Equal(t, 4001, code)
	require.Equal(t, "shutdown", reason)
	require.Empty(t, got.msgs[3].Payload)

	bad := decodeWith(t, Decoder{FromServer: true}, stream, nil)
	require.Contains(t, bad.err, "masked server frame")
}

// A client's Decoder takes unmasked frames, the codes only servers send,
// and refuses a masked frame.
func TestDecoderFromServer(t *testing.T) {
	payload := repeat(70000)
	stream := slices.Concat(
		AppendFrame(nil, OpBinary, payload),
		AppendFrame(nil, OpPing, []byte("p")),
		AppendClose(nil, 1012, "restart"),
	)
	got := decodeWith(t, Decoder{FromServer: true, MaxMessage: len(payload)}, stream, []int{1, 3, 9, 70000})
	require.Empty(t, got.err)
	require.Len(t, got.msgs, 3)
	require.Equal(t, payload, got.msgs[0].Payload)
	require.Equal(t, OpPing, got.msgs[1].Op)
	code, _ := ParseClose(got.msgs[2].Payload)
	require.Equal(t, 1012, code)

	// A client may not send 1012.
	bad := decodeAll(t, 100, asClient(t, AppendClose(nil, 1012, "")))
	require.Contains(t, bad.err, "invalid close code")

	tooLong := decodeWith(t, Decoder{FromServer: true, MaxMessage: len(payload) - 1}, stream, nil)
	require.Contains(t, tooLong.err, ErrTooLarge.Error())
}

func FuzzDecodeFromServer(f *testing.F) {
	f.Add(AppendFrame(nil, OpBinary, []byte("hello")), uint16(3))
	f.Add(AppendFrame(nil, OpBinary, repeat(300)), uint16(1))
	f.Add(slices.Concat(AppendHeader(nil, OpBinary, 4)[:1], []byte{0x04}, []byte("frag"),
		AppendFrame(nil, OpPing, nil), AppendClose(nil, 1001, "away")), uint16(7))
	f.Add([]byte{0x82, 0x83, 1, 2, 3, 4, 'a', 'b', 'c'}, uint16(2))
	f.Fuzz(func(t *testing.T, data []byte, at uint16) {
		d := Decoder{FromServer: true, MaxMessage: 4096}
		whole := decodeWith(t, d, data, nil)
		cut := int(at) % (len(data) + 1)
		require.Equal(t, whole, decodeWith(t, d, data, []int{cut}), "split at %d", cut)

		// What a server frames, a client decodes; what a client frames
		// (masked), a server decodes.
		payload := data[:min(len(data), 4096)]
		m, n, err := (&Decoder{FromServer: true, MaxMessage: 4096}).Decode(AppendFrame(nil, OpBinary, payload))
		require.NoError(t, err)
		require.Positive(t, n)
		require.True(t, bytes.Equal(payload, m.Payload))
		key := [4]byte{byte(at), byte(at >> 8), 0x5a, 0xa5}
		m, n, err = (&Decoder{MaxMessage: 4096}).Decode(AppendMaskedFrame(nil, OpBinary, payload, key))
		require.NoError(t, err)
		require.Positive(t, n)
		require.True(t, bytes.Equal(payload, m.Payload))
	})
}

// FuzzParseResponse checks ParseResponse against net/http: a head it reads
// is read by http.ReadResponse with the same status and fields.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + rfcAccept + "\r\nSec-WebSocket-Protocol: mopush.v1\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 421 Misdirected Request\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nno\n"))
	f.Add([]byte("HTTP/1.0 503 Service Unavailable\nRetry-After: 1\n\n"))
	f.Add([]byte("HTTP/1.1 101 \r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, n, err := ParseResponse(data)
		if err != nil {
			require.ErrorIs(t, err, ErrBadResponse)
			return
		}
		if n == 0 {
			return
		}
		require.LessOrEqual(t, n, len(data))
		hr, herr := http.ReadResponse(bufio.NewReader(bytes.NewReader(data[:n])), nil)
		if herr != nil {
			// net/http refuses a few heads this parser reads (it checks
			// field values for a body length, for one); the parser is
			// then only required not to panic.
			return
		}
		defer hr.Body.Close()
		require.Equal(t, hr.StatusCode, r.Status)
		for name, vs := range hr.Header {
			require.Equal(t, vs, r.Values(name), "field %s", name)
		}
		_, _ = CheckResponse(&r, rfcKey, []string{"mopush.v1"})
	})
}
