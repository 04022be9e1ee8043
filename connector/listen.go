package connector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/mopush/mopush/internal/wsconn"
)

const (
	// headTimeout bounds the wait for a connection's first request head,
	// as the HTTP server's ReadHeaderTimeout does for the requests it reads.
	headTimeout = 10 * time.Second
	// maxHead bounds the head of a device connect; a larger one is answered
	// with 431. A connect's head is about 500 bytes.
	maxHead = 16 << 10
	// headBufSize is the size of the pooled buffers heads are read into.
	headBufSize = 4 << 10
)

// connectLine is how a device connect's request line starts; a space or a
// '?' comes next.
const connectLine = "GET " + Path

var headBufs = sync.Pool{New: func() any { b := make([]byte, headBufSize); return &b }}

// Split accepts the connections of ln and serves device connects itself,
// reading their request heads without the HTTP server: no HTTP server
// goroutine, buffers or request objects are made for a connection that
// becomes a session. It returns a listener of every other connection, for
// an http.Server to serve, with the bytes already read from it replayed.
// Closing the returned listener closes ln.
func (c *Connector) Split(ln net.Listener) net.Listener {
	return &splitListener{c: c, ln: ln, conns: make(chan net.Conn), run: newWriters(), done: make(chan struct{})}
}

type splitListener struct {
	c     *Connector
	ln    net.Listener
	conns chan net.Conn // for the HTTP server
	// run serves each connection on a goroutine that served one before
	// when one waits, so that the stack a handshake grew serves the next
	// one instead of a new goroutine's stack growing again.
	run  *writers
	once sync.Once     // starts accept
	done chan struct{} // closed when accept ends, after err is set
	err  error
}

// Accept returns the next connection that is not a device connect.
func (l *splitListener) Accept() (net.Conn, error) {
	l.once.Do(func() { go l.accept() })
	select {
	case conn := <-l.conns:
		return conn, nil
	case <-l.done:
		return nil, l.err
	}
}

func (l *splitListener) Close() error   { return l.ln.Close() }
func (l *splitListener) Addr() net.Addr { return l.ln.Addr() }

// accept runs until ln fails for good; like the HTTP server it waits and
// tries again after a temporary error, such as running out of files.
func (l *splitListener) accept() {
	var delay time.Duration
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) ||
				errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				l.c.log.Warn("accept failed: retrying", "error", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			l.err = err
			close(l.done)
			l.run.close()
			return
		}
		delay = 0
		l.run.start(func() { l.serve(conn) })
	}
}

// serve reads the start of conn: a device connect is served here, anything
// else goes to the HTTP server.
func (l *splitListener) serve(conn net.Conn) {
	conn.SetReadDeadline(time.Now().Add(headTimeout)) //nolint:errcheck // surfaces on read
	bp := headBufs.Get().(*[]byte)
	buf, n, connect, err := sniff(conn, *bp)
	if !connect {
		if n == 0 && err != nil {
			conn.Close() // closed or timed out before a byte
		} else {
			conn.SetReadDeadline(time.Time{}) //nolint:errcheck // the HTTP server sets its own
			l.handOff(&replayConn{Conn: conn, replay: bytes.Clone(buf[:n])})
		}
		headBufs.Put(bp)
		return
	}
	var h wsconn.Head
	var end int
	for searched := 0; ; {
		if wsconn.HeadEnd(buf[:n], searched) > 0 {
			h, end, err = wsconn.ParseHead(buf[:n])
			break
		}
		searched = max(n-3, 0) // the ending may have begun in the last 3 bytes
		if n == maxHead {
			err = wsconn.HeadTooLarge(maxHead)
			break
		}
		if n == len(buf) {
			buf = append(buf[:n], make([]byte, min(len(buf), maxHead-n))...)
		}
		var m int
		if m, err = conn.Read(buf[n:]); m == 0 && err != nil {
			break
		}
		n += m
		err = nil
	}
	var pending []byte
	if err == nil && end < n {
		pending = bytes.Clone(buf[end:n])
	}
	headBufs.Put(bp) // buf is spent: the head's strings and pending are copies
	if err != nil {
		var ne net.Error
		if errors.Is(err, io.EOF) || errors.As(err, &ne) && ne.Timeout() || errors.Is(err, net.ErrClosed) {
			conn.Close() // nothing to answer
			return
		}
		l.c.m.handshakes.WithLabelValues("upgrade_failed").Inc()
		writeAndClose(conn, wsconn.AppendRefusal(nil, err))
		return
	}
	l.c.serveHead(conn, &h, pending)
}

// sniff reads from conn into buf until it can tell whether conn starts
// with a device connect, and returns buf, how much of it was read, and
// whether it is one; an error comes only with a start that still could be.
func sniff(conn net.Conn, buf []byte) ([]byte, int, bool, error) {
	n := 0
	for {
		m, err := conn.Read(buf[n:])
		n += m
		if n > len(connectLine) {
			return buf, n, string(buf[:len(connectLine)]) == connectLine &&
				(buf[len(connectLine)] == ' ' || buf[len(connectLine)] == '?'), nil
		}
		if string(buf[:n]) != connectLine[:n] {
			return buf, n, false, nil
		}
		if err != nil {
			return buf, n, false, err
		}
	}
}

// handOff gives conn to the HTTP server, or closes it if the listener is
// closed.
func (l *splitListener) handOff(conn net.Conn) {
	select {
	case l.conns <- conn:
	case <-l.done:
		conn.Close()
	}
}

// serveHead answers a device connect whose head was read by Split's
// listener, as ServeHTTP answers one read by the HTTP server.
func (c *Connector) serveHead(conn net.Conn, h *wsconn.Head, pending []byte) {
	ctx := context.Background()
	var deviceID string
	if q := h.RawQuery(); q != "" {
		v, _ := url.ParseQuery(q) // a malformed pair is skipped, as in ServeHTTP
		deviceID = v.Get("device_id")
	}
	if no := c.admit(ctx, deviceID); no != nil {
		var extra string
		if no.retryAfter {
			extra = "Retry-After: 1\r\n"
		}
		writeAndClose(conn, wsconn.AppendError(nil, no.status, extra, no.msg))
		return
	}
	hc, subprotocol := offered(h.Values("Sec-WebSocket-Protocol"))
	var err error
	if hc.response, err = wsconn.AcceptHead(h, subprotocol); err != nil {
		c.wg.Done()
		c.m.handshakes.WithLabelValues("upgrade_failed").Inc()
		writeAndClose(conn, wsconn.AppendRefusal(nil, err))
		return
	}
	hc.conn, hc.pending = conn, pending
	c.serveUpgraded(ctx, hc)
}

// replayConn is a connection handed to the HTTP server with the bytes
// Split read from it, which its first reads return.
type replayConn struct {
	net.Conn
	replay []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.replay) == 0 {
		return c.Conn.Read(p)
	}
	n := copy(p, c.replay)
	c.replay = c.replay[n:]
	return n, nil
}

// CloseWrite lets the HTTP server half-close the connection before it
// closes it, as it does with a TCP connection of its own.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SyscallConn exposes the socket once the replayed bytes are read, so that
// a device connect the HTTP server upgrades can still join the poller.
func (c *replayConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok || len(c.replay) > 0 {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}
