package wsconn

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// testKey is the masking key of the frames the tests build; its bytes are
// distinct so that a key applied at the wrong offset shows.
var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame builds a masked client frame with the minimal length
// encoding.
func clientFrame(fin bool, op Opcode, payload []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= finBit
	}
	var hdr []byte
	switch n := len(payload); {
	case n < len16:
		hdr = []byte{b0, maskBit | byte(n)}
	case n <= 0xFFFF:
		hdr = binary.BigEndian.AppendUint16([]byte{b0, maskBit | len16}, uint16(n))
	default:
		hdr = binary.BigEndian.AppendUint64([]byte{b0, maskBit | len64}, uint64(n))
	}
	return withMask(hdr, payload)
}

// withMask appends testKey and payload masked with it to a header whose
// mask bit the caller set (or did not, to build a bad frame).
func withMask(hdr, payload []byte) []byte {
	b := append(append([]byte(nil), hdr...), testKey[:]...)
	for i, c := range payload {
		b = append(b, c^testKey[i%4])
	}
	return b
}

// asClient turns a server frame built by AppendFrame into the same frame as
// a client sends it: mask bit set, key inserted, payload masked.
func asClient(tb testing.TB, frame []byte) []byte {
	tb.Helper()
	require.GreaterOrEqual(tb, len(frame), 2)
	size := 2
	switch frame[1] {
	case len16:
		size = 4
	case len64:
		size = 10
	}
	hdr := append([]byte(nil), frame[:size]...)
	hdr[1] |= maskBit
	return withMask(hdr, frame[size:])
}

// closePayload is the payload of a close frame.
func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// decoded is what decoding a stream gave: the messages in order, the error
// that stopped it (empty if none) or else how many bytes were left
// undecoded. (After an error the count would depend on the chunks, as a
// failed Decode does not report the fragments it took in before failing.)
type decoded struct {
	msgs []Message
	err  string
	left int
}

// decodeChunks feeds stream to a Decoder with the given limit in chunks of
// the given sizes (the last chunk takes the rest), decoding all it can after
// each chunk, and checks that every n is within the buffer.
func decodeChunks(tb testing.TB, maxMessage int, stream []byte, chunks []int) decoded {
	tb.Helper()
	return decodeWith(tb, Decoder{MaxMessage: maxMessage}, stream, chunks)
}

// decodeWith is decodeChunks with the Decoder d.
func decodeWith(tb testing.TB, d Decoder, stream []byte, chunks []int) decoded {
	tb.Helper()
	var out decoded
	var buf []byte
	for i := 0; len(stream) > 0; i++ {
		k := len(stream)
		if i < len(chunks) && chunks[i] < k {
			k = chunks[i]
		}
		buf, stream = append(buf, stream[:k]...), stream[k:]
		for {
			m, n, err := d.Decode(buf)
			if n < 0 || n > len(buf) {
				tb.Fatalf("Decode consumed %d of %d bytes", n, len(buf))
			}
			if err != nil {
				out.err = err.Error()
				return out
			}
			if n == 0 {
				break
			}
			if m.Op != OpContinuation {
				out.msgs = append(out.msgs, Message{Op: m.Op, Payload: append([]byte{}, m.Payload...)})
			} else if len(m.Payload) != 0 {
				tb.Fatalf("no message, but a payload of %d bytes", len(m.Payload))
			}
			buf = buf[n:]
		}
	}
	out.left = len(buf)
	return out
}

// decodeAll decodes stream given at once.
func decodeAll(tb testing.TB, maxMessage int, stream []byte) decoded {
	tb.Helper()
	return decodeChunks(tb, maxMessage, stream, nil)
}

// repeat returns n bytes of a pattern that does not repeat every four bytes.
func repeat(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}
