package wsconn

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestAppendHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		op   Opcode
		n    int
		want []byte
	}{
		{"len=0", OpBinary, 0, []byte{0x82, 0}},
		{"len=125", OpText, 125, []byte{0x81, 125}},
		{"len=126", OpBinary, 126, []byte{0x82, 126, 0, 126}},
		{"len=65535", OpBinary, 65535, []byte{0x82, 126, 0xff, 0xff}},
		{"len=65536", OpBinary, 65536, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"len=1<<24", OpBinary, 1 << 24, []byte{0x82, 127, 0, 0, 0, 0, 1, 0, 0, 0}},
		{"op=pong", OpPong, 4, []byte{0x8a, 4}},
		{"op=close", OpClose, 125, []byte{0x88, 125}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := AppendHeader([]byte("x"), tc.op, tc.n)
			require.Equal(t, append([]byte("x"), tc.want...), got)
			require.LessOrEqual(t, len(got)-1, MaxHeaderLen)
		})
	}
}

func TestAppendHeaderPanics(t *testing.T) {
	t.Parallel()
	require.Panics(t, func() { AppendHeader(nil, OpBinary, -1) })
	require.Panics(t, func() { AppendHeader(nil, OpPing, MaxControlPayload+1) })
	require.NotPanics(t, func() { AppendHeader(nil, OpPing, MaxControlPayload) })
}

func TestAppendFrame(t *testing.T) {
	t.Parallel()
	payload := repeat(300)
	got := AppendFrame([]byte{9}, OpBinary, payload)
	require.Equal(t, []byte{9, 0x82, 126, 1, 44}, got[:5])
	require.Equal(t, payload, got[5:])
}

func TestAppendClose(t *testing.T) {
	t.Parallel()
	t.Run("code and reason", func(t *testing.T) {
		t.Parallel()
		got := AppendClose(nil, 4002, "slow")
		require.Equal(t, []byte{0x88, 6, 0x0f, 0xa2, 's', 'l', 'o', 'w'}, got)
	})
	t.Run("no code", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, []byte{0x88, 0}, AppendClose(nil, 1005, "ignored"))
		require.Equal(t, []byte{0x88, 0}, AppendClose(nil, 0, ""))
	})
	t.Run("long ASCII reason", func(t *testing.T) {
		t.Parallel()
		got := AppendClose(nil, 1000, strings.Repeat("a", 300))
		require.Equal(t, byte(MaxControlPayload), got[1])
		require.Len(t, got, 2+MaxControlPayload)
	})
	t.Run("reason cut on a character boundary", func(t *testing.T) {
		t.Parallel()
		// 122 ASCII bytes and a 3-byte character: the character would end
		// at byte 125 of the reason, past the 123 allowed.
		reason := strings.Repeat("a", 122) + "€€"
		got := AppendClose(nil, 1001, reason)
		code, text := ParseClose(got[2:])
		require.Equal(t, 1001, code)
		require.Equal(t, strings.Repeat("a", 122), text)
		require.True(t, utf8.ValidString(text))
		require.Equal(t, byte(2+122), got[1])
	})
	t.Run("decodes", func(t *testing.T) {
		t.Parallel()
		d := Decoder{}
		m, _, err := d.Decode(asClient(t, AppendClose(nil, 4999, strings.Repeat("é", 100))))
		require.NoError(t, err)
		code, text := ParseClose(m.Payload)
		require.Equal(t, 4999, code)
		require.Equal(t, strings.Repeat("é", 61), text)
	})
}

func TestParseClose(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		payload []byte
		code    int
		reason  string
	}{
		{"empty", nil, 1005, ""},
		{"one byte", []byte{3}, 1005, ""},
		{"code", []byte{0x03, 0xe8}, 1000, ""},
		{"code and reason", closePayload(4001, "bye"), 4001, "bye"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, reason := ParseClose(tc.payload)
			require.Equal(t, tc.code, code)
			require.Equal(t, tc.reason, reason)
		})
	}
}

func TestOpcode(t *testing.T) {
	t.Parallel()
	require.Equal(t, "binary", OpBinary.String())
	require.Equal(t, "opcode(3)", Opcode(3).String())
	for op := range Opcode(16) {
		require.Equal(t, op >= 8, op.IsControl(), "%v", op)
		require.Equal(t, !strings.HasPrefix(op.String(), "opcode("), op.defined(), "%v", op)
	}
}

func TestUnmask(t *testing.T) {
	t.Parallel()
	for n := range 40 {
		want := repeat(n)
		p := bytes.Clone(want)
		for i := range p {
			p[i] ^= testKey[i%4]
		}
		unmask(p, testKey)
		require.Equal(t, want, p, "length %d", n)
	}
}
