package wsconn

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// acceptGUID is the string RFC 6455 §1.3 appends to the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Upgrade runs the server side of the opening handshake (RFC 6455 §4.2).
//
// It checks that r is a GET over HTTP/1.1 or later whose Connection header
// holds the token "upgrade", whose Upgrade header holds "websocket", whose
// Sec-WebSocket-Version is 13 and whose Sec-WebSocket-Key is the base64 of
// 16 bytes. Any Origin is accepted. If a check fails, Upgrade writes a
// plain-text error itself (405 for the method, 426 with
// Sec-WebSocket-Version: 13 for the version, 400 otherwise) and returns an
// error matching ErrBadUpgrade.
//
// Otherwise it hijacks the connection, writes the 101 response, echoing
// subprotocol if the client listed it in Sec-WebSocket-Protocol (an empty
// subprotocol is never echoed), and returns the connection with the bytes
// the server had already read past the request, which are the start of the
// client's first frames. Extensions are never accepted. Once the response is
// written Upgrade clears the deadlines the HTTP server set on the
// connection; the caller sets its own.
func Upgrade(w http.ResponseWriter, r *http.Request, subprotocol string) (conn net.Conn, buffered []byte, err error) {
	conn, buffered, response, err := Hijack(w, r, subprotocol)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.Write(response); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("wsconn: write handshake response: %w", err)
	}
	return conn, buffered, nil
}

// Hijack is Upgrade without the write: it returns the 101 response for the
// caller to write, so that the server's first frames can go in the same
// write. The connection has no deadline; nothing is written to it yet.
func Hijack(w http.ResponseWriter, r *http.Request, subprotocol string) (conn net.Conn, buffered, response []byte, err error) {
	key, bad := checkRequest(r)
	if bad != nil {
		reject(w, bad)
		return nil, nil, nil, bad
	}
	if subprotocol != "" && !hasToken(r.Header.Values("Sec-WebSocket-Protocol"), subprotocol, false) {
		subprotocol = ""
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket upgrade not supported", http.StatusInternalServerError)
		return nil, nil, nil, fmt.Errorf("wsconn: hijack: %w", err)
	}
	buffered = drain(rw.Reader)
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, nil, nil, fmt.Errorf("wsconn: clear deadline: %w", err)
	}
	return conn, buffered, appendResponse(make([]byte, 0, 192), key, subprotocol), nil
}

// checkRequest checks an upgrade request and returns its key, or why it is
// refused.
func checkRequest(r *http.Request) (key string, bad *upgradeError) {
	return checkUpgrade(r.Method, r.ProtoAtLeast(1, 1), r.Proto, r.Header.Values)
}

// checkUpgrade checks the parts of an upgrade request: its method, whether
// its protocol (proto) is HTTP/1.1 or later, and its fields by name.
func checkUpgrade(method string, http11 bool, proto string, values func(string) []string) (key string, bad *upgradeError) {
	switch {
	case method != http.MethodGet:
		return "", refuse(http.StatusMethodNotAllowed, ErrMethodNotAllowed, "method "+method)
	case !http11:
		return "", refuse(http.StatusBadRequest, ErrBadUpgrade, "protocol "+proto)
	case !hasToken(values("Connection"), "upgrade", true):
		return "", refuse(http.StatusBadRequest, ErrBadUpgrade, "Connection header lacks upgrade")
	case !hasToken(values("Upgrade"), "websocket", true):
		return "", refuse(http.StatusBadRequest, ErrBadUpgrade, "Upgrade header lacks websocket")
	}
	if v := values("Sec-WebSocket-Version"); len(v) != 1 || strings.Trim(v[0], " \t") != "13" {
		return "", refuse(http.StatusUpgradeRequired, ErrBadVersion, fmt.Sprintf("Sec-WebSocket-Version %q", v))
	}
	keys := values("Sec-WebSocket-Key")
	if len(keys) != 1 || !validKey(keys[0]) {
		return "", refuse(http.StatusBadRequest, ErrBadUpgrade, "Sec-WebSocket-Key is not 16 bytes in base64")
	}
	return keys[0], nil
}

func refuse(status int, kind error, detail string) *upgradeError {
	return &upgradeError{status: status, kind: kind, detail: detail}
}

// reject writes the HTTP answer to a refused upgrade.
func reject(w http.ResponseWriter, e *upgradeError) {
	switch e.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", http.MethodGet)
	case http.StatusUpgradeRequired:
		w.Header().Set("Sec-WebSocket-Version", "13")
	}
	http.Error(w, "websocket: "+e.detail, e.status)
}

// validKey reports whether key is the canonical base64 of 16 bytes.
func validKey(key string) bool {
	var raw [18]byte
	if len(key) != base64.StdEncoding.EncodedLen(16) {
		return false
	}
	n, err := base64.StdEncoding.Strict().Decode(raw[:], []byte(key))
	return err == nil && n == 16
}

// acceptKey is the Sec-WebSocket-Accept answer to key (RFC 6455 §4.2.2).
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// appendResponse appends the 101 response.
func appendResponse(b []byte, key, subprotocol string) []byte {
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\n"+
		"Connection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "...)
	b = append(b, acceptKey(key)...)
	if subprotocol != "" {
		b = append(b, "\r\nSec-WebSocket-Protocol: "...)
		b = append(b, subprotocol...)
	}
	return append(b, "\r\n\r\n"...)
}

// drain copies out what r holds, so that the bufio objects can go.
func drain(r *bufio.Reader) []byte {
	n := r.Buffered()
	if n == 0 {
		return nil
	}
	p, _ := r.Peek(n) // cannot fail: n bytes are buffered
	return bytes.Clone(p)
}

// hasToken reports whether token is an element of the comma-separated lists
// in values (RFC 9110 §5.6.1), ignoring ASCII case if fold is set. An empty
// token is never found.
func hasToken(values []string, token string, fold bool) bool {
	if token == "" {
		return false
	}
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			t = strings.Trim(t, " \t")
			if t == token || fold && equalFoldASCII(t, token) {
				return true
			}
		}
	}
	return false
}

// equalFoldASCII reports whether a and b are equal ignoring ASCII case; it
// does not fold other characters, as header tokens are ASCII.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
