package wsconn

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeSingleFrameInPlace(t *testing.T) {
	t.Parallel()
	frame := clientFrame(true, OpBinary, []byte("hello"))
	var d Decoder
	m, n, err := d.Decode(frame)
	require.NoError(t, err)
	require.Equal(t, len(frame), n)
	require.Equal(t, OpBinary, m.Op)
	require.Equal(t, []byte("hello"), m.Payload)
	require.Same(t, &frame[6], &m.Payload[0], "payload must alias the buffer")
	require.Nil(t, d.frag)
}

func TestDecodeNeedsMore(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, 125, 126, 65535, 65536} {
		frame := clientFrame(true, OpBinary, repeat(size))
		orig := bytes.Clone(frame)
		var d Decoder
		d.MaxMessage = 1 << 20
		for cut := range len(frame) {
			m, n, err := d.Decode(frame[:cut])
			if err != nil || n != 0 || m.Op != 0 || m.Payload != nil {
				t.Fatalf("size %d, %d bytes: got %v, %d, %v; want nothing", size, cut, m.Op, n, err)
			}
		}
		require.Equal(t, orig, frame, "an incomplete frame must be left as it was")
		m, n, err := d.Decode(frame)
		require.NoError(t, err)
		require.Equal(t, len(frame), n)
		require.Equal(t, repeat(size), m.Payload, "size %d", size)
	}
}

func TestDecodeFragmented(t *testing.T) {
	t.Parallel()
	first := clientFrame(false, OpText, []byte("Hel"))
	rest := slices.Concat(
		clientFrame(true, OpPing, []byte("p1")),
		clientFrame(false, OpContinuation, []byte("lo, ")),
		clientFrame(true, OpPong, nil),
		clientFrame(true, OpContinuation, []byte("world")),
		clientFrame(true, OpBinary, []byte("x")),
	)
	var d Decoder

	m, n, err := d.Decode(bytes.Clone(first))
	require.NoError(t, err)
	require.Equal(t, len(first), n, "the fragment is taken in")
	require.Equal(t, Message{}, m, "but no message is complete")
	require.Equal(t, []byte("Hel"), d.frag)

	buf := bytes.Clone(rest)
	var got []Message
	for len(buf) > 0 {
		m, n, err := d.Decode(buf)
		require.NoError(t, err)
		require.NotZero(t, n)
		got = append(got, m)
		buf = buf[n:]
	}
	require.Equal(t, []Message{
		{OpPing, []byte("p1")},
		{OpPong, []byte{}},
		{OpText, []byte("Hello, world")},
		{OpBinary, []byte("x")},
	}, got)
	require.Nil(t, d.frag, "an idle Decoder holds no buffer")
	require.Zero(t, d.op)
}

func TestDecodeEmptyFragments(t *testing.T) {
	t.Parallel()
	stream := slices.Concat(
		clientFrame(false, OpBinary, nil),
		clientFrame(false, OpContinuation, nil),
		clientFrame(true, OpContinuation, nil),
	)
	var d Decoder
	m, n, err := d.Decode(stream)
	require.NoError(t, err)
	require.Equal(t, len(stream), n)
	require.Equal(t, OpBinary, m.Op)
	require.Empty(t, m.Payload)
}

// incrementalStream is frames of every length encoding, fragments with
// control frames between them, and a close frame, with the messages they
// carry.
func incrementalStream() (stream []byte, want []Message) {
	big := repeat(70_000)
	stream = slices.Concat(
		clientFrame(true, OpBinary, []byte("one")),
		clientFrame(false, OpBinary, big[:100]),
		clientFrame(true, OpPing, []byte("between")),
		clientFrame(false, OpContinuation, big[100:300]),
		clientFrame(false, OpContinuation, nil),
		clientFrame(true, OpPong, repeat(125)),
		clientFrame(true, OpContinuation, big[300:]),
		clientFrame(true, OpText, repeat(126)),
		clientFrame(true, OpBinary, nil),
		clientFrame(false, OpText, []byte("a")),
		clientFrame(true, OpContinuation, []byte("b")),
		clientFrame(true, OpClose, closePayload(1000, "done")),
	)
	want = []Message{
		{OpBinary, []byte("one")},
		{OpPing, []byte("between")},
		{OpPong, repeat(125)},
		{OpBinary, big},
		{OpText, repeat(126)},
		{OpBinary, []byte{}},
		{OpText, []byte("ab")},
		{OpClose, closePayload(1000, "done")},
	}
	return stream, want
}

func TestDecodeIncremental(t *testing.T) {
	t.Parallel()
	stream, want := incrementalStream()
	const limit = 1 << 20

	whole := decodeAll(t, limit, stream)
	require.Empty(t, whole.err)
	require.Zero(t, whole.left)
	require.Equal(t, want, whole.msgs)

	t.Run("byte at a time", func(t *testing.T) {
		t.Parallel()
		ones := make([]int, len(stream))
		for i := range ones {
			ones[i] = 1
		}
		require.Equal(t, whole, decodeChunks(t, limit, stream, ones))
	})
	for seed := range uint64(20) {
		t.Run("random chunks", func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			var chunks []int
			for total := 0; total < len(stream); {
				k := 1 + rng.IntN(300)
				chunks = append(chunks, k)
				total += k
			}
			require.Equal(t, whole, decodeChunks(t, limit, stream, chunks), "seed %d", seed)
		})
	}
}

func TestDecodeProtocolErrors(t *testing.T) {
	t.Parallel()
	open := clientFrame(false, OpBinary, []byte("frag"))
	for _, tc := range []struct {
		name   string
		stream []byte
		want   error
	}{
		{"unmasked", []byte{0x82, 0x03, 'a', 'b', 'c'}, errUnmasked},
		{"unmasked empty", []byte{0x82, 0x00}, errUnmasked},
		{"rsv1", withMask([]byte{0xc2, 0x81}, []byte("a")), errReservedBits},
		{"rsv2", withMask([]byte{0xa2, 0x81}, []byte("a")), errReservedBits},
		{"rsv3", withMask([]byte{0x92, 0x81}, []byte("a")), errReservedBits},
		{"opcode 3", withMask([]byte{0x83, 0x80}, nil), errReservedOpcode},
		{"opcode 7", withMask([]byte{0x87, 0x80}, nil), errReservedOpcode},
		{"opcode 11", withMask([]byte{0x8b, 0x80}, nil), errReservedOpcode},
		{"opcode 15", withMask([]byte{0x8f, 0x80}, nil), errReservedOpcode},
		{"ping of 126", withMask([]byte{0x89, 0x80 | 126, 0, 126}, repeat(126)), errControlLength},
		{"close of 126 from its first bytes", []byte{0x88, 0x80 | 126}, errControlLength},
		{"pong with a 64-bit length", []byte{0x8a, 0x80 | 127}, errControlLength},
		{"fragmented ping", withMask([]byte{0x09, 0x81}, []byte("a")), errControlFragment},
		{"fragmented close", withMask([]byte{0x08, 0x80}, nil), errControlFragment},
		{"continuation first", clientFrame(true, OpContinuation, []byte("a")), errNoMessage},
		{"continuation after a whole message", slices.Concat(
			clientFrame(true, OpBinary, []byte("a")), clientFrame(true, OpContinuation, []byte("b"))), errNoMessage},
		{"binary inside a message", slices.Concat(open, clientFrame(true, OpBinary, []byte("b"))), errMessageOpen},
		{"text inside a message", slices.Concat(open, clientFrame(false, OpText, []byte("b"))), errMessageOpen},
		{"64-bit length top bit", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, errLengthTopBit},
		{"64-bit length all ones", []byte{0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, errLengthTopBit},
		{"16-bit length of 125", withMask([]byte{0x82, 0x80 | 126, 0, 125}, repeat(125)), errNonMinimal},
		{"16-bit length of 0", []byte{0x82, 0x80 | 126, 0, 0}, errNonMinimal},
		{"64-bit length of 65535", []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, errNonMinimal},
		{"64-bit length of 5", []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 5}, errNonMinimal},
		{"close of one byte", clientFrame(true, OpClose, []byte{3}), errCloseShort},
		{"close reason not UTF-8", clientFrame(true, OpClose, closePayload(1000, "\xff")), errCloseReason},
		{"close reason cut UTF-8", clientFrame(true, OpClose, closePayload(1000, "\xe2\x82")), errCloseReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := Decoder{MaxMessage: 1 << 20}
			err := decodeUntilError(t, &d, tc.stream)
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, ErrProtocol)
			require.NotErrorIs(t, err, ErrTooLarge)
			require.Nil(t, d.frag, "a failed Decoder lets go of its buffer")
		})
	}
}

// decodeUntilError decodes stream, given at once, until Decode fails, and
// checks that the failing call returned nothing.
func decodeUntilError(t *testing.T, d *Decoder, stream []byte) error {
	t.Helper()
	buf := bytes.Clone(stream)
	for {
		m, n, err := d.Decode(buf)
		if err != nil {
			require.Zero(t, n, "a failed Decode consumes nothing")
			require.Equal(t, Message{}, m, "a failed Decode returns no message")
			return err
		}
		require.NotZero(t, n, "stream ended without an error")
		buf = buf[n:]
	}
}

func TestDecodeCloseCodes(t *testing.T) {
	t.Parallel()
	for code := range 5100 {
		var d Decoder
		m, _, err := d.Decode(clientFrame(true, OpClose, closePayload(code, "r")))
		valid := code >= 1000 && code <= 1003 || code >= 1007 && code <= 1011 || code >= 3000 && code <= 4999
		if valid {
			require.NoError(t, err, "code %d", code)
			got, reason := ParseClose(m.Payload)
			require.Equal(t, code, got)
			require.Equal(t, "r", reason)
		} else {
			require.ErrorIs(t, err, errCloseCode, "code %d", code)
		}
	}
	var d Decoder
	m, _, err := d.Decode(clientFrame(true, OpClose, nil))
	require.NoError(t, err, "an empty close frame is valid")
	code, _ := ParseClose(m.Payload)
	require.Equal(t, 1005, code)
}

func TestDecodeTooLarge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		limit  int
		stream []byte
	}{
		{"7-bit frame", 10, clientFrame(true, OpBinary, repeat(11))},
		{"first fragment", 10, clientFrame(false, OpBinary, repeat(11))},
		{"assembled", 10, slices.Concat(
			clientFrame(false, OpText, repeat(6)),
			clientFrame(true, OpPing, repeat(20)),
			clientFrame(true, OpContinuation, repeat(5)))},
		{"16-bit header only", 1000, []byte{0x82, 0x80 | 126, 0x03, 0xe9}},
		{"16-bit header and key", 1000, []byte{0x82, 0x80 | 126, 0x03, 0xe9, 1, 2, 3, 4}},
		{"64-bit header only", 1 << 20, []byte{0x82, 0x80 | 127, 0, 0, 1, 0, 0, 0, 0, 0}},
		{"continuation header only", 10, slices.Concat(
			clientFrame(false, OpBinary, repeat(10)), []byte{0x80, 0x81})},
		{"default limit", 0, []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := Decoder{MaxMessage: tc.limit}
			err := decodeUntilError(t, &d, tc.stream)
			require.ErrorIs(t, err, ErrTooLarge)
			require.NotErrorIs(t, err, ErrProtocol)
			require.Nil(t, d.frag)
		})
	}
}

func TestDecodeAtLimit(t *testing.T) {
	t.Parallel()
	t.Run("whole", func(t *testing.T) {
		t.Parallel()
		d := Decoder{MaxMessage: 10}
		m, _, err := d.Decode(clientFrame(true, OpBinary, repeat(10)))
		require.NoError(t, err)
		require.Len(t, m.Payload, 10)
	})
	t.Run("assembled", func(t *testing.T) {
		t.Parallel()
		d := Decoder{MaxMessage: 10}
		m, _, err := d.Decode(slices.Concat(clientFrame(false, OpBinary, repeat(4)), clientFrame(true, OpContinuation, repeat(6))))
		require.NoError(t, err)
		require.Len(t, m.Payload, 10)
	})
	t.Run("control frames are not counted", func(t *testing.T) {
		t.Parallel()
		d := Decoder{MaxMessage: 1}
		m, _, err := d.Decode(clientFrame(true, OpPing, repeat(125)))
		require.NoError(t, err)
		require.Len(t, m.Payload, 125)
	})
	t.Run("default limit header", func(t *testing.T) {
		t.Parallel()
		var d Decoder
		hdr := []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4}
		_, n, err := d.Decode(hdr)
		require.NoError(t, err, "DefaultMaxMessage bytes are allowed")
		require.Zero(t, n)
	})
}

func TestDecodeAllocs(t *testing.T) {
	frame := clientFrame(true, OpBinary, repeat(64))
	var d Decoder
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := d.Decode(frame); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs, "decoding a single frame must not allocate")

	out := make([]byte, 0, 256)
	allocs = testing.AllocsPerRun(100, func() {
		out = AppendFrame(out[:0], OpBinary, frame)
	})
	require.Zero(t, allocs, "appending a frame to a large enough buffer must not allocate")
}
