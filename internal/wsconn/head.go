package wsconn

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Head is an HTTP/1.x request head read off a connection without net/http:
// what a server needs to answer a WebSocket upgrade.
type Head struct {
	Method string
	Target string // the request-target as sent: a path, '?', a query
	Minor  int    // the x of HTTP/1.x
	fields []field
}

type field struct{ name, value string }

// Path is the Target up to its query.
func (h *Head) Path() string {
	p, _, _ := strings.Cut(h.Target, "?")
	return p
}

// RawQuery is the Target after its first '?', not decoded.
func (h *Head) RawQuery() string {
	_, q, _ := strings.Cut(h.Target, "?")
	return q
}

// Values returns the values of every field named name (compared without
// ASCII case), in the order they came.
func (h *Head) Values(name string) []string { return values(h.fields, name) }

// values returns the values of the fields named name, without ASCII case.
func values(fields []field, name string) []string {
	var vs []string
	for _, f := range fields {
		if equalFoldASCII(f.name, name) {
			vs = append(vs, f.value)
		}
	}
	return vs
}

// ParseHead parses the request head at the start of b (RFC 9112 §2-5): a
// request line, header fields, an empty line; lines end in CRLF or a bare
// LF. It returns the head and its length in bytes, or a length of 0 if b
// does not hold the whole head yet; a head that will never parse is an
// error matching [ErrBadRequest] (answered with 400). The head's strings
// are one copy of its bytes, so b may be reused.
//
// A percent sign in the target's path must start an escape of two hex
// digits, as in net/http. It is strict where leniency would let the bytes
// after the head be read two ways: a field line folded onto the next (obs-fold), a space before a
// field's colon, a name that is not a token, a control character in a
// value, a missing or repeated Host in HTTP/1.1, and a request with a body
// (Transfer-Encoding, or a Content-Length other than 0) are all refused,
// since what follows an upgrade request is WebSocket frames.
func ParseHead(b []byte) (Head, int, error) {
	first, rest, n := splitHead(b)
	if n == 0 {
		return Head{}, 0, nil
	}
	h, err := parseRequestLine(first)
	if err != nil {
		return Head{}, 0, err
	}
	if h.fields, err = parseFields(rest); err != nil {
		return Head{}, 0, err
	}
	hosts := 0
	for _, f := range h.fields {
		switch {
		case equalFoldASCII(f.name, "Host"):
			hosts++
		case equalFoldASCII(f.name, "Transfer-Encoding"),
			equalFoldASCII(f.name, "Content-Length") && f.value != "0":
			return Head{}, 0, badRequest("a body on an upgrade request (" + f.name + ")")
		}
	}
	if h.Minor >= 1 && hosts != 1 {
		return Head{}, 0, badRequest(strconv.Itoa(hosts) + " Host fields in an HTTP/1.1 request")
	}
	return h, n, nil
}

// splitHead finds the head at the start of b and returns its first line
// and the lines after it, as one copy of its bytes, with its length; n is 0
// if b does not hold the whole head yet.
func splitHead(b []byte) (first, rest string, n int) {
	if n = HeadEnd(b, 0); n == 0 {
		return "", "", 0
	}
	first, rest, _ = strings.Cut(string(b[:n]), "\n")
	return strings.TrimSuffix(first, "\r"), rest, n
}

// parseFields parses the field lines of a head up to its empty line.
func parseFields(rest string) ([]field, error) {
	fields := make([]field, 0, strings.Count(rest, "\n"))
	for {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			return fields, nil
		}
		f, err := parseField(line)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
	}
}

// HeadEnd is the length of the head at the start of b, through the empty
// line that ends it, or 0 if that line has not arrived. The search starts
// at from: a reader that appends to b passes how far it searched before
// (less 3 bytes, which may hold the start of the ending), so that a head
// arriving in small pieces is not searched again from the start.
func HeadEnd(b []byte, from int) int {
	for i := max(from, 0); ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// parseRequestLine parses "METHOD SP request-target SP HTTP/1.x".
func parseRequestLine(line string) (Head, error) {
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || method == "" || target == "" {
		return Head{}, badRequest(fmt.Sprintf("malformed request line %.64q", line))
	}
	if !isToken(method) {
		return Head{}, badRequest(fmt.Sprintf("method %.32q is not a token", method))
	}
	for i := range len(target) {
		if c := target[i]; c <= ' ' || c >= 0x7f {
			return Head{}, badRequest(fmt.Sprintf("request target %.64q has a byte 0x%02x", target, c))
		}
	}
	path, _, _ := strings.Cut(target, "?")
	for i := strings.IndexByte(path, '%'); i >= 0; i = strings.IndexByte(path, '%') {
		if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
			return Head{}, badRequest(fmt.Sprintf("request target %.64q has a bad escape", target))
		}
		path = path[i+3:]
	}
	if len(proto) != len("HTTP/1.1") || !strings.HasPrefix(proto, "HTTP/1.") || proto[7] < '0' || proto[7] > '9' {
		return Head{}, badRequest(fmt.Sprintf("protocol %.16q is not HTTP/1.x", proto))
	}
	return Head{Method: method, Target: target, Minor: int(proto[7] - '0')}, nil
}

// parseField parses "name: value" with optional whitespace around the value.
func parseField(line string) (field, error) {
	name, value, ok := strings.Cut(line, ":")
	switch {
	case !ok:
		return field{}, badRequest(fmt.Sprintf("field line %.64q has no colon", line))
	case line[0] == ' ' || line[0] == '\t':
		return field{}, badRequest("folded field line")
	case !isToken(name):
		return field{}, badRequest(fmt.Sprintf("field name %.64q is not a token", name))
	}
	value = strings.Trim(value, " \t")
	for i := range len(value) {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return field{}, badRequest(fmt.Sprintf("field %s has a control byte 0x%02x", name, c))
		}
	}
	return field{name: name, value: value}, nil
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// isToken reports whether s is a non-empty token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// HeadTooLarge is the error for a head that has not ended within limit
// bytes, answered with 431.
func HeadTooLarge(limit int) error {
	return refuse(http.StatusRequestHeaderFieldsTooLarge, ErrBadRequest, "request head longer than "+strconv.Itoa(limit)+" bytes")
}

func badRequest(detail string) *upgradeError {
	return refuse(http.StatusBadRequest, ErrBadRequest, detail)
}

// AcceptHead is Hijack for a head read by ParseHead: it checks h as Upgrade
// checks a request and returns the 101 response for the caller to write,
// with subprotocol if the client offered it. A refusal is an error matching
// ErrBadUpgrade, to be answered with AppendRefusal.
func AcceptHead(h *Head, subprotocol string) (response []byte, err error) {
	key, bad := checkUpgrade(h.Method, h.Minor >= 1, "HTTP/1."+strconv.Itoa(h.Minor), h.Values)
	if bad != nil {
		return nil, bad
	}
	if subprotocol != "" && !hasToken(h.Values("Sec-WebSocket-Protocol"), subprotocol, false) {
		subprotocol = ""
	}
	return appendResponse(make([]byte, 0, 192), key, subprotocol), nil
}

// AppendRefusal appends the HTTP answer to err, an error from ParseHead or
// AcceptHead: the status and headers Upgrade would have written. Any other
// error is answered with 400.
func AppendRefusal(b []byte, err error) []byte {
	e, ok := err.(*upgradeError)
	if !ok {
		return AppendError(b, http.StatusBadRequest, "", err.Error())
	}
	var extra string
	switch e.status {
	case http.StatusMethodNotAllowed:
		extra = "Allow: GET\r\n"
	case http.StatusUpgradeRequired:
		extra = "Sec-WebSocket-Version: 13\r\n"
	}
	return AppendError(b, e.status, extra, "websocket: "+e.detail)
}

// AppendError appends a plain-text HTTP/1.1 error response that closes the
// connection, like the one http.Error writes; extra is more header lines,
// each ending in CRLF.
func AppendError(b []byte, status int, extra, msg string) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n"...)
	b = append(b, extra...)
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(msg)+1), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, msg...)
	return append(b, '\n')
}
