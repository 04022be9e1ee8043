package wsconn

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func FuzzDecode(f *testing.F) {
	seeds := [][]byte{
		clientFrame(true, OpBinary, []byte("hello")),
		clientFrame(true, OpText, repeat(126)),
		clientFrame(true, OpBinary, repeat(300)),
		clientFrame(true, OpClose, closePayload(1000, "bye")),
		slices.Concat(
			clientFrame(false, OpBinary, []byte("frag")),
			clientFrame(true, OpPing, []byte("p")),
			clientFrame(true, OpContinuation, []byte("ment")),
			clientFrame(true, OpPong, nil),
		),
		{0x82, 0x03, 'a', 'b', 'c'},
		{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0},
	}
	for i, s := range seeds {
		f.Add(s, uint16(i*3))
	}
	f.Fuzz(func(t *testing.T, data []byte, at uint16) {
		const limit = 4096
		whole := decodeAll(t, limit, data)
		cut := int(at) % (len(data) + 1)
		require.Equal(t, whole, decodeChunks(t, limit, data, []int{cut}), "split at %d", cut)
		roundTrip(t, data, int(at))
	})
}

// roundTrip checks that a server frame of payload, masked as a client's,
// decodes to the same message; choice picks the opcode.
func roundTrip(t *testing.T, payload []byte, choice int) {
	ops := []Opcode{OpText, OpBinary, OpPing, OpPong, OpClose}
	op := ops[choice%len(ops)]
	var frame []byte
	switch {
	case op == OpClose:
		reason := strings.ToValidUTF8(string(payload), "")
		frame = AppendClose(nil, 3000+choice%2000, reason)
	case op.IsControl():
		payload = payload[:min(len(payload), MaxControlPayload)]
		fallthrough
	default:
		frame = AppendFrame(nil, op, payload)
	}
	client := asClient(t, frame)
	d := Decoder{MaxMessage: len(payload) + 1}
	m, n, err := d.Decode(client)
	require.NoError(t, err)
	require.Equal(t, len(client), n)
	require.Equal(t, op, m.Op)
	if op != OpClose {
		require.True(t, bytes.Equal(payload, m.Payload), "payload differs")
		return
	}
	code, reason := ParseClose(m.Payload)
	require.Equal(t, 3000+choice%2000, code)
	require.True(t, utf8.ValidString(reason))
	require.True(t, strings.HasPrefix(strings.ToValidUTF8(string(payload), ""), reason))
}

func FuzzTokenList(f *testing.F) {
	f.Add("keep-alive, Upgrade", "upgrade")
	f.Add("chat,mopush.v1", "mopush.v1")
	f.Add(" ,\t, x ,", "x")
	f.Add("a,,b", "")
	f.Fuzz(func(t *testing.T, list, token string) {
		got := hasToken([]string{list}, token, false)
		want := token != "" && slices.ContainsFunc(strings.Split(list, ","), func(e string) bool {
			return strings.Trim(e, " \t") == token
		})
		require.Equal(t, want, got)

		folded := hasToken([]string{list}, token, true)
		require.Equal(t, hasToken([]string{lowerAll(list)}, lowerAll(token), false), folded)
		require.True(t, !got || folded, "an exact match is also a folded one")

		if i := strings.IndexByte(list, ','); i >= 0 {
			require.Equal(t, got, hasToken([]string{list[:i], list[i+1:]}, token, false), "header lines are list elements")
		}
		if token != "" && !strings.ContainsAny(token, ", \t") {
			require.True(t, hasToken([]string{list + ", " + token + "\t"}, token, false))
		}
	})
}

// lowerAll lowers the ASCII letters of s.
func lowerAll(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerASCII(c)
	}
	return string(b)
}

func FuzzUpgradeHeaders(f *testing.F) {
	f.Add("Upgrade", "websocket", "13", rfcKey, "mopush.v1")
	f.Add("keep-alive, upgrade", "WebSocket", "8", "AAAAAAAAAAAAAAAAAAAAAA==", "chat, mopush.v1")
	f.Add("close", "h2c", "", "x", "")
	f.Fuzz(func(t *testing.T, connection, upgrade, version, key, protocol string) {
		r := upgradeRequest()
		r.Header["Connection"] = []string{connection}
		r.Header["Upgrade"] = []string{upgrade}
		r.Header["Sec-Websocket-Version"] = []string{version}
		r.Header["Sec-Websocket-Key"] = []string{key}
		r.Header["Sec-Websocket-Protocol"] = []string{protocol}
		w := newHijacker(t, nil)
		conn, _, err := Upgrade(w, r, testSubprotocol)
		if err != nil {
			require.ErrorIs(t, err, ErrBadUpgrade)
			require.Nil(t, conn)
			require.Contains(t, []int{http.StatusBadRequest, http.StatusUpgradeRequired}, w.Code)
			require.Equal(t, w.Code == http.StatusUpgradeRequired, errors.Is(err, ErrBadVersion))
			return
		}
		raw, decErr := base64.StdEncoding.DecodeString(key)
		require.NoError(t, decErr)
		require.Len(t, raw, 16)
		require.Equal(t, "13", strings.Trim(version, " \t"))
		require.True(t, hasToken([]string{connection}, "upgrade", true))
		require.True(t, hasToken([]string{upgrade}, "websocket", true))
		resp, err := w.conn.response(r)
		require.NoError(t, err)
		require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
		require.Equal(t, acceptKey(key), resp.Header.Get("Sec-WebSocket-Accept"))
		if hasToken([]string{protocol}, testSubprotocol, false) {
			require.Equal(t, testSubprotocol, resp.Header.Get("Sec-WebSocket-Protocol"))
		} else {
			require.Empty(t, resp.Header.Values("Sec-WebSocket-Protocol"))
		}
	})
}
