package wsconn

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// Opcode is the type of a frame (RFC 6455 §5.2).
type Opcode byte

// The opcodes of RFC 6455 §11.8; the others are reserved.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// String returns the opcode's name, for logs.
func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "opcode(" + strconv.Itoa(int(op)) + ")"
}

// IsControl reports whether op is a control opcode (close, ping, pong or a
// reserved one in 0xB–0xF).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

func (op Opcode) defined() bool {
	switch op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return true
	}
	return false
}

// Message is one client message: a whole data message (Op is OpText or
// OpBinary, the opcode of its first fragment) or a control frame.
type Message struct {
	Op      Opcode
	Payload []byte
}

const (
	// MaxHeaderLen is the longest frame header AppendHeader writes: two
	// bytes and an eight-byte length (server frames carry no mask key).
	MaxHeaderLen = 10
	// MaxControlPayload is the longest payload of a control frame.
	MaxControlPayload = 125

	finBit       = 0x80
	rsvBits      = 0x70
	maskBit      = 0x80
	len16        = 126
	len64        = 127
	closeNoCode  = 1005
	maxCloseText = MaxControlPayload - 2
)

// AppendHeader appends the header of an unmasked final frame of op whose
// payload is n bytes long, for a payload written from another buffer. It
// panics if n is negative or if a control frame would exceed
// MaxControlPayload: both are bugs of the caller.
func AppendHeader(dst []byte, op Opcode, n int) []byte {
	if n < 0 || op.IsControl() && n > MaxControlPayload {
		panic("wsconn: invalid payload length " + strconv.Itoa(n) + " for " + op.String() + " frame")
	}
	b0 := finBit | byte(op)
	switch {
	case n < len16:
		return append(dst, b0, byte(n))
	case n <= 0xFFFF:
		return append(dst, b0, len16, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, b0, len64), uint64(n))
}

// AppendFrame appends an unmasked final frame of op carrying payload. It
// panics where AppendHeader does.
func AppendFrame(dst []byte, op Opcode, payload []byte) []byte {
	return append(AppendHeader(dst, op, len(payload)), payload...)
}

// AppendClose appends a close frame with code and reason. The reason,
// which should be UTF-8, is cut on a character boundary so that the
// payload fits in a control frame. A code of 0 or 1005 (no code) gives an
// empty close frame, as RFC 6455 §7.4.1 forbids sending 1005.
func AppendClose(dst []byte, code int, reason string) []byte {
	if code == 0 || code == closeNoCode {
		return AppendHeader(dst, OpClose, 0)
	}
	reason = truncate(reason, maxCloseText)
	dst = AppendHeader(dst, OpClose, 2+len(reason))
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ParseClose returns the code and reason of a close frame's payload; an
// empty payload (or a malformed one, which Decode never returns) gives 1005
// and no reason.
func ParseClose(payload []byte) (code int, reason string) {
	if len(payload) < 2 {
		return closeNoCode, ""
	}
	return int(binary.BigEndian.Uint16(payload)), string(payload[2:])
}

// validCloseCode reports whether a client may send code (RFC 6455 §7.4),
// or with fromServer a server, which may also send 1012 (restart), 1013
// (try again later) and 1014 (bad gateway) from the IANA registry.
func validCloseCode(code int, fromServer bool) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011:
		return true
	case code >= 1012 && code <= 1014:
		return fromServer
	}
	return code >= 3000 && code <= 4999
}

// checkClose checks a close frame's payload: empty, or a valid code and a
// UTF-8 reason.
func checkClose(p []byte, fromServer bool) error {
	switch {
	case len(p) == 0:
		return nil
	case len(p) == 1:
		return errCloseShort
	case !validCloseCode(int(binary.BigEndian.Uint16(p)), fromServer):
		return errCloseCode
	case !utf8.Valid(p[2:]):
		return errCloseReason
	}
	return nil
}
