package wsconn

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrBadResponse is an answer to an upgrade request that is not a valid
// WebSocket handshake response: malformed, or a 101 without the fields
// RFC 6455 §4.1 requires. A refusal (any other status) is a *RefusedError.
var ErrBadResponse = errors.New("wsconn: bad upgrade response")

// RefusedError is an upgrade request answered with a status other than
// 101.
type RefusedError struct {
	Status int
	Reason string
}

func (e *RefusedError) Error() string {
	return "wsconn: upgrade refused: " + strconv.Itoa(e.Status) + " " + e.Reason
}

// Response is an HTTP/1.x response head read off a connection: what a
// client needs to check the answer to its upgrade request.
type Response struct {
	Status int
	Reason string
	fields []field
}

// Values returns the values of every field named name (compared without
// ASCII case), in the order they came.
func (r *Response) Values(name string) []string { return values(r.fields, name) }

// NewKey returns a fresh Sec-WebSocket-Key: 16 random bytes in base64.
func NewKey() string {
	var raw [16]byte
	rand.Read(raw[:]) //nolint:errcheck // crypto/rand.Read never fails (it panics instead)
	return base64.StdEncoding.EncodeToString(raw[:])
}

// AppendClientHead appends a client's upgrade request for target (a path and
// its query) on host, which must be the URL's host and port as the Host
// field carries them, offering protocols in one Sec-WebSocket-Protocol
// field when there are any.
func AppendClientHead(b []byte, host, target, key string, protocols []string) []byte {
	b = append(b, "GET "...)
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	b = append(b, key...)
	b = append(b, "\r\nSec-WebSocket-Version: 13\r\n"...)
	if len(protocols) > 0 {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		for i, p := range protocols {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, p...)
		}
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// ParseResponse parses the response head at the start of b: a status line,
// header fields and an empty line, lines ending in CRLF or a bare LF. It
// returns the head and its length in bytes, or a length of 0 if b does not
// hold the whole head yet; a head that will never parse is an error
// matching ErrBadResponse. The head's strings are one copy of its bytes, so
// b may be reused.
func ParseResponse(b []byte) (Response, int, error) {
	first, rest, n := splitHead(b)
	if n == 0 {
		return Response{}, 0, nil
	}
	r, err := parseStatusLine(first)
	if err != nil {
		return Response{}, 0, err
	}
	if r.fields, err = parseFields(rest); err != nil {
		detail := err.Error()
		var ue *upgradeError
		if errors.As(err, &ue) {
			detail = ue.detail // the request's kind of error would say "bad request"
		}
		return Response{}, 0, fmt.Errorf("%w: %s", ErrBadResponse, detail)
	}
	return r, n, nil
}

// parseStatusLine parses "HTTP/1.x SP 3DIGIT SP reason".
func parseStatusLine(line string) (Response, error) {
	proto, rest, ok := strings.Cut(line, " ")
	code, reason, _ := strings.Cut(rest, " ")
	if !ok || len(proto) != len("HTTP/1.1") || !strings.HasPrefix(proto, "HTTP/1.") || proto[7] < '0' || proto[7] > '9' ||
		len(code) != 3 || code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return Response{}, fmt.Errorf("%w: malformed status line %.64q", ErrBadResponse, line)
	}
	status, _ := strconv.Atoi(code) // three digits: cannot fail
	return Response{Status: status, Reason: reason}, nil
}

// CheckResponse checks that r accepts an upgrade asked for with key
// (RFC 6455 §4.1): status 101, Upgrade websocket, Connection upgrade, the
// Sec-WebSocket-Accept that key calls for, no extension, and at most one
// subprotocol, one of offered, which it returns. A status other than 101
// gives a *RefusedError; anything else wrong, an error matching
// ErrBadResponse.
func CheckResponse(r *Response, key string, offered []string) (subprotocol string, err error) {
	if r.Status != 101 {
		return "", &RefusedError{Status: r.Status, Reason: r.Reason}
	}
	bad := func(detail string) error { return fmt.Errorf("%w: %s", ErrBadResponse, detail) }
	switch {
	case !hasToken(r.Values("Upgrade"), "websocket", true):
		return "", bad("no Upgrade: websocket")
	case !hasToken(r.Values("Connection"), "upgrade", true):
		return "", bad("no Connection: upgrade")
	}
	if acc := r.Values("Sec-WebSocket-Accept"); len(acc) != 1 || acc[0] != acceptKey(key) {
		return "", bad("wrong Sec-WebSocket-Accept")
	}
	if len(r.Values("Sec-WebSocket-Extensions")) > 0 {
		return "", bad("an extension was not offered")
	}
	switch ps := r.Values("Sec-WebSocket-Protocol"); {
	case len(ps) == 0:
		return "", nil
	case len(ps) > 1 || !isToken(ps[0]) || !slices.Contains(offered, ps[0]):
		return "", bad(fmt.Sprintf("subprotocol %.64q was not offered", strings.Join(ps, ", ")))
	default:
		return ps[0], nil
	}
}

// AppendMaskedFrame appends a final client frame of op carrying payload,
// masked with key (RFC 6455 §5.3), which must be fresh and unpredictable for
// each frame. It panics where AppendHeader does.
func AppendMaskedFrame(dst []byte, op Opcode, payload []byte, key [4]byte) []byte {
	start := len(dst)
	dst = AppendHeader(dst, op, len(payload))
	dst[start+1] |= maskBit
	dst = append(dst, key[:]...)
	dst = append(dst, payload...)
	unmask(dst[len(dst)-len(payload):], key) // masking and unmasking are the same XOR
	return dst
}

// AppendMaskedClose is AppendClose for a client: the frame is masked with
// key.
func AppendMaskedClose(dst []byte, code int, reason string, key [4]byte) []byte {
	if code == 0 || code == closeNoCode {
		return AppendMaskedFrame(dst, OpClose, nil, key)
	}
	var p [MaxControlPayload]byte
	payload := append(binary.BigEndian.AppendUint16(p[:0], uint16(code)), truncate(reason, maxCloseText)...)
	return AppendMaskedFrame(dst, OpClose, payload, key)
}
