package wsconn

import (
	"errors"
	"fmt"
)

var (
	// ErrBadUpgrade is a request that Upgrade refused; every refusal matches
	// it, whatever the status written.
	ErrBadUpgrade = errors.New("wsconn: bad upgrade request")
	// ErrMethodNotAllowed is an upgrade request whose method is not GET
	// (answered with 405). It also matches ErrBadUpgrade.
	ErrMethodNotAllowed = errors.New("wsconn: upgrade method not allowed")
	// ErrBadVersion is an upgrade request for a protocol version other than
	// 13 (answered with 426). It also matches ErrBadUpgrade.
	ErrBadVersion = errors.New("wsconn: unsupported websocket version")
	// ErrBadRequest is a request head that ParseHead cannot read as HTTP/1.x
	// (answered with 400). It also matches ErrBadUpgrade.
	ErrBadRequest = errors.New("wsconn: malformed request head")

	// ErrProtocol is a client frame that breaks RFC 6455 or the subset this
	// package accepts; the close code for it is 1002.
	ErrProtocol = errors.New("wsconn: protocol error")
	// ErrTooLarge is a message longer than Decoder.MaxMessage; the close
	// code for it is 1009.
	ErrTooLarge = errors.New("wsconn: message too large")
)

// The protocol errors Decode returns, one per rule.
var (
	errUnmasked        = protocolError("unmasked client frame")
	errMasked          = protocolError("masked server frame")
	errReservedBits    = protocolError("reserved bit set")
	errReservedOpcode  = protocolError("reserved opcode")
	errControlFragment = protocolError("fragmented control frame")
	errControlLength   = protocolError("control frame longer than 125 bytes")
	errNoMessage       = protocolError("continuation frame without a message")
	errMessageOpen     = protocolError("data frame inside a fragmented message")
	errLengthTopBit    = protocolError("64-bit length with the top bit set")
	errNonMinimal      = protocolError("length not minimally encoded")
	errCloseShort      = protocolError("close payload of one byte")
	errCloseCode       = protocolError("invalid close code")
	errCloseReason     = protocolError("close reason not UTF-8")
)

func protocolError(detail string) error {
	return fmt.Errorf("%w: %s", ErrProtocol, detail)
}

// upgradeError is a refused upgrade request: the status written, the
// sentinel that names the rule, and what was wrong.
type upgradeError struct {
	status int
	kind   error
	detail string
}

func (e *upgradeError) Error() string { return e.kind.Error() + ": " + e.detail }

func (e *upgradeError) Unwrap() []error { return []error{e.kind, ErrBadUpgrade} }
