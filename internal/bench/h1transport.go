package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// h1Transport is the http.RoundTripper of the simulated devices' SDK
// clients (registration, dispatch): plain HTTP/1.1 on kept connections,
// each request written with one system call and its answer read on the
// caller's goroutine. net/http's Transport runs a reader and a writer
// goroutine per connection and hands every request and answer between them
// and the caller; in a CPU profile of a bench worker while 9,000 devices
// connected, that machinery was about a quarter of the worker's samples, on
// the cores the server being measured shares. The SDK is the same; only
// the connection under its http.Client differs.
//
// It speaks what the SDK sends: requests with a known length and no
// trailers, to http:// servers. A request on a kept connection that the
// server closed meanwhile is sent again, on the next kept connection or a
// new one, when no answer byte came back and the request may be repeated
// (a GET that did not run out of time, or a request whose write failed); a
// request on a new connection is never sent twice.
type h1Transport struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration // for a request whose context has no deadline
	maxIdle int
	conns   chan struct{} // a token per connection in use: at most maxConns

	mu   sync.Mutex
	idle map[string][]*h1Conn // by host:port, most recently used last
}

type h1Conn struct {
	c  net.Conn
	br *bufio.Reader
}

// newH1Transport returns a transport that keeps up to maxIdle idle
// connections and uses up to maxConns at once; requests beyond that wait,
// as with net/http's MaxConnsPerHost: devices that all ask the dispatcher
// at once (a connector that failed) must not open a connection each. The
// wait counts against the request's context, which the SDK bounds by its
// HandshakeTimeout, so maxConns must carry a worker's devices through a
// dispatch storm well within it.
func newH1Transport(dial func(ctx context.Context, network, addr string) (net.Conn, error), maxIdle, maxConns int) *h1Transport {
	maxConns = max(maxConns, 1)
	return &h1Transport{dial: dial, timeout: 60 * time.Second, maxIdle: min(max(maxIdle, 1), maxConns),
		conns: make(chan struct{}, maxConns), idle: map[string][]*h1Conn{}}
}

// maxRequestBody bounds what the transport sends.
const maxRequestBody = 1 << 20

var errUnsupportedRequest = errors.New("request not supported by the bench's HTTP/1.1 transport")

// RoundTrip sends req and reads the whole answer.
func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	msg, host, err := encodeRequest(req)
	if req.Body != nil {
		req.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	select {
	case t.conns <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-t.conns }()
	for {
		c, reused, err := t.get(ctx, host)
		if err != nil {
			return nil, err
		}
		resp, retry, err := t.exchange(ctx, c, host, msg, req.Method)
		if err == nil {
			resp.Request = req
			return resp, nil
		}
		if !reused || !retry || ctx.Err() != nil {
			return nil, err
		}
	}
}

// exchange sends msg on c and reads the answer; c then goes back to the
// pool or is closed. retry reports that the server took nothing of the
// request and sent nothing back, so that it may be sent again.
func (t *h1Transport) exchange(ctx context.Context, c *h1Conn, host string, msg []byte, method string) (*http.Response, bool, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(t.timeout)
	}
	if err := c.c.SetDeadline(deadline); err != nil {
		c.c.Close()
		return nil, true, err
	}
	stop := func() bool { return true }
	if ctx.Done() != nil {
		// A context that is cancelled fails the read or write under way.
		stop = context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Unix(1, 0)) }) //nolint:errcheck // the read or write fails
	}
	resp, keep, retry, err := c.roundTrip(msg, method)
	if !stop() { // the deadline set when the context ended stays
		keep = false
	}
	if err != nil || !keep {
		c.c.Close()
	} else {
		t.put(c, host)
	}
	return resp, retry, err
}

// roundTrip writes msg and reads the answer.
func (c *h1Conn) roundTrip(msg []byte, method string) (resp *http.Response, keep, retry bool, err error) {
	if _, err := c.c.Write(msg); err != nil {
		return nil, false, true, err
	}
	if _, err := c.br.Peek(1); err != nil {
		// Closed by the server before it answered: a GET may go again. A
		// request that ran out of time does not.
		return nil, false, method == http.MethodGet && !errors.Is(err, os.ErrDeadlineExceeded), err
	}
	hdr := http.Header{}
	status, body, keep, err := readResponse(c.br, hdr)
	if err != nil {
		return nil, false, false, err
	}
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        hdr,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Close:         !keep,
	}, keep, false, nil
}

// encodeRequest writes req as HTTP/1.1 bytes and returns them with the
// host:port to send them to.
func encodeRequest(req *http.Request) ([]byte, string, error) {
	u := req.URL
	if u == nil || u.Scheme != "http" || u.Host == "" {
		return nil, "", fmt.Errorf("%w: url %v", errUnsupportedRequest, u)
	}
	if req.Method == http.MethodHead || req.Method == http.MethodConnect {
		return nil, "", fmt.Errorf("%w: method %s", errUnsupportedRequest, req.Method)
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxRequestBody+1))
		if err != nil {
			return nil, "", fmt.Errorf("read request body: %w", err)
		}
		if len(b) > maxRequestBody {
			return nil, "", fmt.Errorf("%w: body over %d bytes", errUnsupportedRequest, maxRequestBody)
		}
		body = b
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	hostField := req.Host
	if hostField == "" {
		hostField = u.Host
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	b := make([]byte, 0, 256+len(body))
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, u.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, hostField...)
	b = append(b, "\r\n"...)
	for name, vals := range req.Header {
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "Connection", "Transfer-Encoding":
			continue
		}
		for _, v := range vals {
			if strings.ContainsAny(name, "\r\n: ") || strings.ContainsAny(v, "\r\n") {
				return nil, "", fmt.Errorf("%w: header %q", errUnsupportedRequest, name)
			}
			b = append(b, name...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if body != nil || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...), host, nil
}

// get lends a kept connection to host, the most recently used first, or
// dials one.
func (t *h1Transport) get(ctx context.Context, host string) (c *h1Conn, reused bool, err error) {
	t.mu.Lock()
	if l := t.idle[host]; len(l) > 0 {
		c = l[len(l)-1]
		t.idle[host] = l[:len(l)-1]
	}
	t.mu.Unlock()
	if c != nil {
		return c, true, nil
	}
	nc, err := t.dial(ctx, "tcp", host)
	if err != nil {
		return nil, false, err
	}
	return &h1Conn{c: nc, br: bufio.NewReaderSize(nc, 2048)}, false, nil
}

// put keeps c for the next request to host unless the pool is full.
func (t *h1Transport) put(c *h1Conn, host string) {
	t.mu.Lock()
	kept := len(t.idle[host]) < t.maxIdle
	if kept {
		t.idle[host] = append(t.idle[host], c)
	}
	t.mu.Unlock()
	if !kept {
		c.c.Close()
	}
}

// CloseIdleConnections closes the kept connections; http.Client calls it.
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*h1Conn{}
	t.mu.Unlock()
	for _, l := range idle {
		for _, c := range l {
			c.c.Close()
		}
	}
}
