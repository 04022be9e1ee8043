package sdkproto

import (
	"errors"
	"fmt"
)

// Errors returned when opening or decoding frames.
var (
	// ErrBadFrame means a message failed authentication or did not decode.
	ErrBadFrame = errors.New("sdkproto: bad frame")
	// ErrReplay means a frame's counter was lower than expected: a replay.
	ErrReplay = errors.New("sdkproto: replayed frame")
	// ErrReorder means a frame's counter was higher than expected: a frame
	// was dropped or reordered.
	ErrReorder = errors.New("sdkproto: reordered frame")
	// ErrFrameTooLarge means a message exceeded the size limit.
	ErrFrameTooLarge = errors.New("sdkproto: frame too large")
	// ErrVersion means the peer speaks an unsupported protocol version.
	ErrVersion = errors.New("sdkproto: unsupported protocol version")
	// ErrAuth means a handshake proof did not verify.
	ErrAuth = errors.New("sdkproto: authentication failed")
	// ErrUnknownFrame means a frame authenticated but its body is of a type
	// this version does not know, sent by a newer peer. The session stays
	// usable: the receiver skips the frame and reads on.
	ErrUnknownFrame = errors.New("sdkproto: unknown frame type")
)

// Code is a protocol error code, carried in Error frames and used as the
// WebSocket close code. Codes 4000-4499 allow the client to reconnect (with
// backoff); codes 4500-4999 mean reconnecting with the same state will fail
// again.
type Code uint32

// Protocol error and close codes.
const (
	CodeInternal         Code = 4000 // server fault
	CodeShutdown         Code = 4001 // server is draining; reconnect elsewhere
	CodeSlowConsumer     Code = 4002 // the session's send queue overflowed
	CodeHandshakeTimeout Code = 4003 // the handshake did not finish in time
	CodeBadFrame         Code = 4004 // a frame did not authenticate or decode
	CodeReplay           Code = 4005 // a frame was replayed or reordered
	CodeStale            Code = 4006 // no frame within the heartbeat window
	CodeFrameTooLarge    Code = 4007 // a frame exceeded the size limit
	CodeUnexpectedFrame  Code = 4008 // a valid frame at the wrong moment
	CodeRedirect         Code = 4009 // the device moved; see the Redirect frame

	CodeAuthFailed         Code = 4500 // device unknown or proof wrong
	CodeUnsupportedVersion Code = 4501 // protocol version not spoken here
	CodeReplaced           Code = 4502 // a newer session of the same device took over
)

// Retryable reports whether a client may reconnect after this code.
func (c Code) Retryable() bool { return c < 4500 }

// String names the code.
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("code_%d", uint32(c))
}

var codeNames = map[Code]string{
	CodeInternal:           "internal",
	CodeShutdown:           "shutdown",
	CodeSlowConsumer:       "slow_consumer",
	CodeHandshakeTimeout:   "handshake_timeout",
	CodeBadFrame:           "bad_frame",
	CodeReplay:             "replay",
	CodeStale:              "stale",
	CodeFrameTooLarge:      "frame_too_large",
	CodeUnexpectedFrame:    "unexpected_frame",
	CodeRedirect:           "redirect",
	CodeAuthFailed:         "auth_failed",
	CodeUnsupportedVersion: "unsupported_version",
	CodeReplaced:           "replaced",
}

// CodeOf maps an error from this package to the code a peer should be told.
func CodeOf(err error) Code {
	switch {
	case errors.Is(err, ErrReplay), errors.Is(err, ErrReorder):
		return CodeReplay
	case errors.Is(err, ErrFrameTooLarge):
		return CodeFrameTooLarge
	case errors.Is(err, ErrVersion):
		return CodeUnsupportedVersion
	case errors.Is(err, ErrAuth):
		return CodeAuthFailed
	case errors.Is(err, ErrBadFrame):
		return CodeBadFrame
	case errors.Is(err, ErrUnknownFrame):
		return CodeUnexpectedFrame
	default:
		return CodeInternal
	}
}

// PeerError is an Error frame received from the peer.
type PeerError struct {
	Code    Code
	Message string
}

// Error formats the code, its name and the peer's message.
func (e *PeerError) Error() string {
	return fmt.Sprintf("peer error %d (%s): %s", uint32(e.Code), e.Code, e.Message)
}
