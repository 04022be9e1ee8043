package wsconn

import (
	"encoding/binary"
	"fmt"
)

// DefaultMaxMessage is the message size limit of a Decoder whose
// MaxMessage is not set.
const DefaultMaxMessage = 64 << 10

// Decoder decodes client frames (or, with FromServer, server frames) from
// bytes that arrive in arbitrary chunks. The zero value is ready to use. A
// Decoder keeps only the state of a fragmented message between calls; after
// an error it must not be used again.
type Decoder struct {
	// MaxMessage is the longest data message in bytes, whole or assembled
	// from fragments; zero or less means DefaultMaxMessage. Control frames
	// are bounded by MaxControlPayload instead.
	MaxMessage int
	// FromServer makes the Decoder a client's: frames must be unmasked, and
	// a close frame may also carry 1012 to 1014, which only servers send.
	FromServer bool

	op   Opcode // data opcode of the fragmented message being assembled; 0 when none
	frag []byte // its payload so far
}

// header is a parsed frame header; size is 0 while it is incomplete.
type header struct {
	fin    bool
	op     Opcode
	size   int
	length int
	key    [4]byte
}

// Decode decodes from buf, the bytes received and not yet consumed, and
// returns how many bytes it consumed and, if it completed one, a message.
//
//   - n == 0 and err == nil: buf holds no complete frame; the caller keeps
//     buf and calls again once more bytes are appended.
//   - n > 0 and m.Op != OpContinuation: m is a message; the caller drops
//     buf[:n] and calls again, as buf may hold more.
//   - n > 0 and m is the zero Message: frames of a fragmented message were
//     taken into the Decoder but the message is not complete; the caller
//     drops buf[:n] and calls again once more bytes arrive.
//
// Control frames, which may arrive between the fragments of a message, are
// returned on their own. The payload of a message sent in one frame is
// unmasked in place and aliases buf: it is valid until the caller reuses
// that part of buf. A fragmented message's payload is a new slice that the
// Decoder no longer references. Decode never allocates for a message sent in
// one frame. Errors match ErrProtocol or ErrTooLarge; see the package doc.
func (d *Decoder) Decode(buf []byte) (m Message, n int, err error) {
	for {
		var h header
		if h, err = d.header(buf[n:]); err != nil {
			d.op, d.frag = 0, nil
			return Message{}, 0, err
		}
		if h.size == 0 || len(buf)-n-h.size < h.length {
			return Message{}, n, nil
		}
		end := n + h.size + h.length
		p := buf[n+h.size : end : end]
		if !d.FromServer {
			unmask(p, h.key)
		}
		n = end
		var ok bool
		if m, ok, err = d.frame(h, p); err != nil {
			d.op, d.frag = 0, nil
			return Message{}, 0, err
		}
		if ok {
			return m, n, nil
		}
	}
}

// Ready reports whether buf starts with a data message whole in one frame:
// a Decode of buf would return it at once, without reading more. A reader
// can then put off what it would do before waiting for the network, such
// as acknowledging what it has read so far. Ready changes nothing.
func (d *Decoder) Ready(buf []byte) bool {
	h, err := d.header(buf)
	return err == nil && h.size > 0 && h.fin && (h.op == OpBinary || h.op == OpText) &&
		len(buf)-h.size >= h.length
}

// frame takes in a complete frame whose payload p is unmasked; ok reports
// whether it completes a message.
func (d *Decoder) frame(h header, p []byte) (m Message, ok bool, err error) {
	if h.op == OpClose {
		if err := checkClose(p, d.FromServer); err != nil {
			return Message{}, false, err
		}
	}
	if h.fin && h.op != OpContinuation {
		return Message{Op: h.op, Payload: p}, true, nil // a control frame or a whole message
	}
	if h.op != OpContinuation {
		d.op = h.op
	}
	d.frag = append(d.frag, p...)
	if !h.fin {
		return Message{}, false, nil
	}
	m = Message{Op: d.op, Payload: d.frag}
	d.op, d.frag = 0, nil
	return m, true, nil
}

// header parses the frame header at the start of b, checking each rule as
// soon as the bytes it needs are there; a size of 0 means b is too short.
func (d *Decoder) header(b []byte) (h header, err error) {
	if len(b) < 2 {
		return h, nil
	}
	h.fin, h.op = b[0]&finBit != 0, Opcode(b[0]&0x0F)
	if err := d.checkFirst(h, b[0], b[1]); err != nil {
		return h, err
	}
	size, length, err := payloadLength(b)
	if err != nil || size == 0 {
		return h, err
	}
	if err := d.checkLength(h.op, length); err != nil {
		return h, err
	}
	if d.FromServer {
		h.size, h.length = size, int(length) // length ≤ MaxMessage, an int
		return h, nil
	}
	if len(b) < size+4 {
		return h, nil
	}
	copy(h.key[:], b[size:size+4])
	h.size, h.length = size+4, int(length) // length ≤ MaxMessage, an int
	return h, nil
}

// checkFirst applies the rules that need only the first two bytes.
func (d *Decoder) checkFirst(h header, b0, b1 byte) error {
	switch {
	case b0&rsvBits != 0:
		return errReservedBits
	case !h.op.defined():
		return errReservedOpcode
	case b1&maskBit == 0 && !d.FromServer:
		return errUnmasked
	case b1&maskBit != 0 && d.FromServer:
		return errMasked
	case h.op.IsControl() && !h.fin:
		return errControlFragment
	case h.op.IsControl() && b1&^maskBit > MaxControlPayload:
		return errControlLength
	case h.op == OpContinuation && d.op == 0:
		return errNoMessage
	case h.op == OpText || h.op == OpBinary:
		if d.op != 0 {
			return errMessageOpen
		}
	}
	return nil
}

// payloadLength decodes the payload length of the frame header at the start
// of b; size is the length of the header up to the mask key, or 0 if b is
// too short to tell.
func payloadLength(b []byte) (size int, length uint64, err error) {
	switch n7 := b[1] &^ maskBit; n7 {
	case len16:
		if len(b) < 4 {
			return 0, 0, nil
		}
		length = uint64(binary.BigEndian.Uint16(b[2:]))
		if length < len16 {
			return 0, 0, errNonMinimal
		}
		return 4, length, nil
	case len64:
		if len(b) < 10 {
			return 0, 0, nil
		}
		length = binary.BigEndian.Uint64(b[2:])
		switch {
		case length>>63 != 0:
			return 0, 0, errLengthTopBit
		case length <= 0xFFFF:
			return 0, 0, errNonMinimal
		}
		return 10, length, nil
	default:
		return 2, uint64(n7), nil
	}
}

// checkLength fails if a data frame of length bytes would take the message
// past the limit.
func (d *Decoder) checkLength(op Opcode, length uint64) error {
	if op.IsControl() {
		return nil
	}
	limit := d.MaxMessage
	if limit <= 0 {
		limit = DefaultMaxMessage
	}
	have := len(d.frag)
	if have > limit || length > uint64(limit-have) {
		return fmt.Errorf("%w: %d bytes after %d, limit %d", ErrTooLarge, length, have, limit)
	}
	return nil
}

// unmask applies the masking key to p in place (RFC 6455 §5.3), eight bytes
// at a time.
func unmask(p []byte, key [4]byte) {
	k4 := binary.LittleEndian.Uint32(key[:])
	k8 := uint64(k4) | uint64(k4)<<32
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k8)
		p = p[8:]
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
}
