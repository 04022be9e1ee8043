package wsconn

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// Ready holds for a buffer that starts with a whole data message in one
// frame, and for nothing else: not a part of one, a control frame, a
// fragment, or a frame Decode refuses.
func TestDecoderReady(t *testing.T) {
	t.Parallel()
	binary := AppendFrame(nil, OpBinary, []byte("push"))
	for _, tc := range []struct {
		name  string
		buf   []byte
		ready bool
	}{
		{"empty", nil, false},
		{"binary", binary, true},
		{"text", AppendFrame(nil, OpText, []byte("t")), true},
		{"empty payload", AppendFrame(nil, OpBinary, nil), true},
		{"binary, then more", slices.Concat(binary, binary[:3]), true},
		{"extended length", AppendFrame(nil, OpBinary, repeat(300)), true},
		{"one byte", binary[:1], false},
		{"header only", binary[:2], false},
		{"payload cut", binary[:len(binary)-1], false},
		{"extended length cut", AppendFrame(nil, OpBinary, repeat(300))[:200], false},
		{"ping, then binary", slices.Concat(AppendFrame(nil, OpPing, nil), binary), false},
		{"pong", AppendFrame(nil, OpPong, []byte("p")), false},
		{"close", AppendClose(nil, 1000, ""), false},
		{"first fragment", slices.Concat([]byte{byte(OpBinary), 4}, []byte("push")), false},
		{"continuation", slices.Concat([]byte{finBit | byte(OpContinuation), 1}, []byte("x")), false},
		{"masked", asClient(t, binary), false},
		{"reserved bits", slices.Concat([]byte{finBit | 0x40 | byte(OpBinary), 1}, []byte("x")), false},
	} {
		d := Decoder{FromServer: true}
		orig := bytes.Clone(tc.buf)
		require.Equal(t, tc.ready, d.Ready(tc.buf), tc.name)
		require.Equal(t, orig, tc.buf, "%s: Ready changed the buffer", tc.name)
	}

	// A client's Decoder reads masked frames: the same rule applies.
	var d Decoder
	require.True(t, d.Ready(asClient(t, binary)))
	require.False(t, d.Ready(asClient(t, binary)[:7]))

	// Within a fragmented message no frame is a whole message.
	d = Decoder{FromServer: true}
	_, n, err := d.Decode(slices.Concat([]byte{byte(OpBinary), 4}, []byte("frag")))
	require.NoError(t, err)
	require.Equal(t, 6, n)
	require.False(t, d.Ready(binary), "a new message before the last fragment is a protocol error")
	require.False(t, d.Ready(slices.Concat([]byte{finBit | byte(OpContinuation), 1}, []byte("x"))))
}

// Whatever the bytes, Ready does not change them, and when it holds, Decode
// returns a data message from them at once.
func FuzzDecoderReady(f *testing.F) {
	f.Add(AppendFrame(nil, OpBinary, []byte("push")), true)
	f.Add(slices.Concat(AppendFrame(nil, OpPing, nil), AppendFrame(nil, OpText, []byte("t"))), true)
	f.Add(clientFrame(true, OpBinary, repeat(130)), false)
	f.Add(clientFrame(false, OpBinary, []byte("frag")), false)
	f.Add([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 1, 'x'}, true)
	f.Fuzz(func(t *testing.T, buf []byte, fromServer bool) {
		d := Decoder{FromServer: fromServer, MaxMessage: 1 << 10}
		orig := bytes.Clone(buf)
		ready := d.Ready(buf)
		require.Equal(t, orig, buf)
		m, n, err := d.Decode(buf)
		if ready {
			require.NoError(t, err)
			require.Positive(t, n)
			require.Contains(t, []Opcode{OpBinary, OpText}, m.Op)
		}
		if err == nil && n > 0 && (m.Op == OpBinary || m.Op == OpText) && n == frameLen(orig) {
			require.True(t, ready, "a whole message in one frame must be ready")
		}
	})
}

// frameLen returns the length of the frame at the start of b as its header
// gives it, or -1.
func frameLen(b []byte) int {
	var d Decoder
	d.FromServer = len(b) > 1 && b[1]&maskBit == 0
	h, err := d.header(b)
	if err != nil || h.size == 0 {
		return -1
	}
	return h.size + h.length
}
