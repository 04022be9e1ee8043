package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// h1Pusher sends unicast pushes over one kept HTTP/1.1 connection of its
// own, one request at a time, writing each request with one system call
// and reading the answer in the same goroutine. The load generator shares
// the machine with the server it measures; net/http's client spent about
// half as much CPU per push as the server (a writer and a reader goroutine
// per connection, and the hand-offs between them and the caller), which
// left less of the machine for the server. The requests are the same bytes a
// backend sends.
type h1Pusher struct {
	host    string // host:port
	auth    string // Authorization header value
	timeout time.Duration

	conn net.Conn
	br   *bufio.Reader
	req  []byte // reused
}

// newH1Pusher returns a pusher for the server at base (http://host:port).
func newH1Pusher(base, key, secret string) (*h1Pusher, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("server url: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("server url %q: want http://host:port", base)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return &h1Pusher{
		host:    host,
		auth:    "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret)),
		timeout: 30 * time.Second,
	}, nil
}

// close closes the connection, if any.
func (p *h1Pusher) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn, p.br = nil, nil
	}
}

// push sends one push to deviceID stamped with the current time; nil
// means 202. A connection that fails is closed, and the next push dials
// again; the failed push is not retried.
func (p *h1Pusher) push(ctx context.Context, deviceID string) error {
	if p.conn == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", p.host)
		if err != nil {
			return err
		}
		p.conn, p.br = c, bufio.NewReaderSize(c, 4096)
	}
	p.req = p.appendRequest(p.req[:0], deviceID, time.Now().UnixNano())
	deadline := time.Now().Add(p.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := p.conn.SetDeadline(deadline); err != nil {
		p.close()
		return err
	}
	if _, err := p.conn.Write(p.req); err != nil {
		p.close()
		return err
	}
	status, body, keep, err := readResponse(p.br, nil)
	if err != nil {
		p.close()
		return err
	}
	if !keep {
		p.close()
	}
	if status != 202 {
		return &pushError{Status: status, Body: string(bytes.TrimSpace(body))}
	}
	return nil
}

// appendRequest appends a push request to deviceID whose data.t is sentNs,
// the same body as api.push sends.
func (p *h1Pusher) appendRequest(b []byte, deviceID string, sentNs int64) []byte {
	var body [256]byte
	bb := append(body[:0], `{"audience":{"device_ids":[`...)
	bb = appendJSONString(bb, deviceID)
	bb = append(bb, `]},"notification":{"title":"bench","data":{"t":"`...)
	bb = strconv.AppendInt(bb, sentNs, 10)
	bb = append(bb, `"}}}`...)
	b = append(b, "POST /v1/pushes HTTP/1.1\r\nHost: "...)
	b = append(b, p.host...)
	b = append(b, "\r\nAuthorization: "...)
	b = append(b, p.auth...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(bb)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, bb...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			enc, _ := json.Marshal(s) // rare: escape the general way
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// maxAnswerBody bounds the body of an answer the pusher reads.
const maxAnswerBody = 1 << 20

var errBadAnswer = errors.New("malformed HTTP answer")

// readResponse reads one HTTP/1.1 answer: its status, its body (bounded),
// and whether the connection may be used again. A non-nil hdr receives the
// answer's header fields.
func readResponse(br *bufio.Reader, hdr http.Header) (status int, body []byte, keep bool, err error) {
	line, err := readLine(br)
	if err != nil {
		return 0, nil, false, err
	}
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || (proto != "HTTP/1.1" && proto != "HTTP/1.0") || len(rest) < 3 {
		return 0, nil, false, fmt.Errorf("%w: status line %q", errBadAnswer, line)
	}
	status, err = strconv.Atoi(rest[:3])
	if err != nil || status < 100 || status > 999 || (len(rest) > 3 && rest[3] != ' ') {
		return 0, nil, false, fmt.Errorf("%w: status line %q", errBadAnswer, line)
	}
	keep = proto == "HTTP/1.1"
	length, chunked := -1, false
	err = readFields(br, func(h string) error {
		name, val, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("%w: header %q", errBadAnswer, h)
		}
		val = strings.TrimSpace(val)
		if hdr != nil {
			hdr.Add(name, val)
		}
		switch {
		case strings.EqualFold(name, "Content-Length"):
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return fmt.Errorf("%w: Content-Length %q", errBadAnswer, val)
			}
			length = n
		case strings.EqualFold(name, "Transfer-Encoding"):
			chunked = strings.EqualFold(val, "chunked")
			if !chunked {
				return fmt.Errorf("%w: Transfer-Encoding %q", errBadAnswer, val)
			}
		case strings.EqualFold(name, "Connection"):
			if strings.EqualFold(val, "close") {
				keep = false
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, false, err
	}
	var r io.Reader
	switch {
	case chunked:
		r = httputil.NewChunkedReader(br)
	case length >= 0:
		if length > maxAnswerBody {
			return 0, nil, false, fmt.Errorf("%w: body of %d bytes", errBadAnswer, length)
		}
		r = io.LimitReader(br, int64(length))
	case status == 204 || status == 304 || status < 200:
		r = bytes.NewReader(nil)
	default: // the body runs to the end of the connection
		r, keep = br, false
	}
	body, err = io.ReadAll(io.LimitReader(r, maxAnswerBody+1))
	if err != nil {
		return 0, nil, false, err
	}
	if len(body) > maxAnswerBody {
		return 0, nil, false, fmt.Errorf("%w: body over %d bytes", errBadAnswer, maxAnswerBody)
	}
	if chunked { // the chunked reader stops before the trailer section
		if err := readFields(br, nil); err != nil {
			return 0, nil, false, err
		}
	}
	if length >= 0 && len(body) != length {
		return 0, nil, false, io.ErrUnexpectedEOF
	}
	return status, body, keep, nil
}

// readFields reads header lines up to the blank line that ends them and
// hands each to f (nil: skip them).
func readFields(br *bufio.Reader, f func(line string) error) error {
	for {
		h, err := readLine(br)
		if err != nil || h == "" {
			return err
		}
		if f != nil {
			if err := f(h); err != nil {
				return err
			}
		}
	}
}

// maxAnswerLine bounds a status or header line.
const maxAnswerLine = 8 << 10

func readLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		frag, more, err := br.ReadLine()
		if err != nil {
			return "", err
		}
		line = append(line, frag...)
		if len(line) > maxAnswerLine {
			return "", fmt.Errorf("%w: line over %d bytes", errBadAnswer, maxAnswerLine)
		}
		if !more {
			return string(line), nil
		}
	}
}

// h1Pool lends pushers to concurrent senders, the most recently returned
// first, so that a rate that few connections can carry keeps using those
// few: a server answers a busy connection more cheaply than many that
// each wake up once in a while, and net/http's pool behaves alike.
type h1Pool struct {
	base, key, secret string

	mu   sync.Mutex
	idle []*h1Pusher
}

func newH1Pool(base, key, secret string) (*h1Pool, error) {
	if _, err := newH1Pusher(base, key, secret); err != nil {
		return nil, err
	}
	return &h1Pool{base: base, key: key, secret: secret}, nil
}

// push sends one push on an idle connection, or on a new one.
func (p *h1Pool) push(ctx context.Context, deviceID string) error {
	p.mu.Lock()
	var c *h1Pusher
	if n := len(p.idle); n > 0 {
		c, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	p.mu.Unlock()
	if c == nil {
		var err error
		if c, err = newH1Pusher(p.base, p.key, p.secret); err != nil {
			return err
		}
	}
	err := c.push(ctx, deviceID)
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	return err
}

// close closes every idle connection.
func (p *h1Pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		c.close()
	}
	p.idle = nil
}
