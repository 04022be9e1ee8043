package client

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/mopush/mopush/internal/wsconn"
	"github.com/mopush/mopush/sdkproto"
)

// maxResponseHead bounds the head of the server's answer to the upgrade.
const maxResponseHead = 8 << 10

// wsConn is the device's end of a WebSocket connection (RFC 6455): binary
// messages in masked frames out, whole messages in, the server's pings
// answered and its close frame returned as a *closeError. Reads are for one
// goroutine at a time; writes may come from any.
type wsConn struct {
	c           net.Conn
	subprotocol string

	dec     wsconn.Decoder
	pending []byte // read and not yet decoded
	rerr    error  // the error that ended reading, returned by every later read

	wmu    sync.Mutex
	wbuf   []byte
	keys   *mrand.ChaCha8 // masking keys; guarded by wmu
	closed bool           // a close frame was written; guarded by wmu
}

// closeError is the server's close frame: its code and reason.
type closeError struct {
	code int
	text string
}

func (e *closeError) Error() string {
	return fmt.Sprintf("websocket: close %d %s", e.code, e.text)
}

// dialWS opens a WebSocket connection to u (ws or wss), offering protocols,
// within ctx. dial opens the TCP connection; tlsConf, if not nil, is the
// TLS configuration of wss (its ServerName is set from u).
func dialWS(ctx context.Context, u string, protocols []string,
	dial func(ctx context.Context, network, addr string) (net.Conn, error), tlsConf *tls.Config) (*wsConn, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	var port string
	switch pu.Scheme {
	case "ws":
		port = "80"
	case "wss":
		port = "443"
	default:
		return nil, fmt.Errorf("websocket: URL scheme %q is not ws or wss", pu.Scheme)
	}
	if pu.Host == "" || pu.User != nil {
		return nil, fmt.Errorf("websocket: malformed URL %q", u)
	}
	addr := pu.Host
	if pu.Port() == "" {
		addr = net.JoinHostPort(pu.Hostname(), port)
	}
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	ws, err := upgrade(ctx, c, pu, protocols, tlsConf)
	if err != nil {
		c.Close()
		return nil, err
	}
	return ws, nil
}

// upgrade runs the opening handshake on c, under ctx's deadline.
func upgrade(ctx context.Context, c net.Conn, u *url.URL, protocols []string, tlsConf *tls.Config) (*wsConn, error) {
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)                 //nolint:errcheck // surfaces on the first read or write
		defer c.SetDeadline(time.Time{}) //nolint:errcheck // as above
	}
	// The TCP connection, which c becomes the TLS connection over for wss.
	raw := c
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) }) //nolint:errcheck // unblocks the handshake
	defer stop()
	if u.Scheme == "wss" {
		conf := &tls.Config{MinVersion: tls.VersionTLS12}
		if tlsConf != nil {
			conf = tlsConf.Clone()
		}
		conf.ServerName = u.Hostname()
		tc := tls.Client(c, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, ctxErr(ctx, err)
		}
		c = tc
	}
	key := wsconn.NewKey()
	if _, err := c.Write(wsconn.AppendClientHead(nil, u.Host, u.RequestURI(), key, protocols)); err != nil {
		return nil, ctxErr(ctx, err)
	}
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxResponseHead {
				return nil, fmt.Errorf("%w: head longer than %d bytes", wsconn.ErrBadResponse, maxResponseHead)
			}
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		k, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		r, n, perr := wsconn.ParseResponse(buf)
		switch {
		case perr != nil:
			return nil, perr
		case n > 0:
			sub, err := wsconn.CheckResponse(&r, key, protocols)
			if err != nil {
				return nil, err
			}
			var seed [32]byte
			rand.Read(seed[:]) //nolint:errcheck // crypto/rand.Read never fails (it panics instead)
			ws := &wsConn{c: c, subprotocol: sub, keys: mrand.NewChaCha8(seed)}
			ws.dec = wsconn.Decoder{FromServer: true, MaxMessage: sdkproto.DefaultMaxFrame}
			ws.pending = append(make([]byte, 0, 1024), buf[n:]...) // frames sent right behind the head
			return ws, nil
		case err != nil:
			return nil, ctxErr(ctx, err)
		}
	}
}

// ctxErr prefers the context's error to the one its end caused (a
// timeout from the deadline the cancel hook set, or the dialer's own
// "operation was canceled").
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("websocket handshake: %w", cerr)
	}
	return err
}

// Subprotocol is the subprotocol the server chose, or "".
func (w *wsConn) Subprotocol() string { return w.subprotocol }

// SetReadDeadline sets the deadline of reads.
func (w *wsConn) SetReadDeadline(t time.Time) error { return w.c.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of writes.
func (w *wsConn) SetWriteDeadline(t time.Time) error { return w.c.SetWriteDeadline(t) }

// Close closes the connection without a close frame.
func (w *wsConn) Close() error { return w.c.Close() }

// ReadMessage returns the next data message. Its bytes are valid until the
// next call. A ping is answered with a pong and a pong is dropped; the
// server's close frame is answered with one and returned as *closeError.
// After an error, every call returns it.
func (w *wsConn) ReadMessage() ([]byte, error) {
	for w.rerr == nil {
		m, err := wsconn.ReadMessage(w.c, &w.dec, &w.pending)
		if err != nil {
			w.rerr = err
			break
		}
		switch m.Op {
		case wsconn.OpText, wsconn.OpBinary:
			return m.Payload, nil
		case wsconn.OpPing:
			if err := w.write(wsconn.OpPong, m.Payload); err != nil && !errors.Is(err, errClosing) {
				w.rerr = err
			}
		case wsconn.OpClose:
			code, text := wsconn.ParseClose(m.Payload)
			w.writeClose(code, time.Now().Add(time.Second)) //nolint:errcheck // the peer is leaving anyway
			w.rerr = &closeError{code: code, text: text}
		}
	}
	return nil, w.rerr
}

// MessageReady reports whether the next ReadMessage returns a data message
// already read, without waiting for the network.
func (w *wsConn) MessageReady() bool { return w.rerr == nil && w.dec.Ready(w.pending) }

// errClosing is a write after the close frame.
var errClosing = errors.New("websocket: close sent")

// WriteMessage writes p as one binary message.
func (w *wsConn) WriteMessage(p []byte) error { return w.write(wsconn.OpBinary, p) }

func (w *wsConn) write(op wsconn.Opcode, p []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.closed {
		return errClosing
	}
	w.wbuf = wsconn.AppendMaskedFrame(w.wbuf[:0], op, p, w.maskKey())
	_, err := w.c.Write(w.wbuf)
	return err
}

// writeClose writes a close frame with code, giving up at deadline, or at
// once when another write holds the connection: the caller is leaving, and
// closes the connection next.
func (w *wsConn) writeClose(code int, deadline time.Time) error {
	if !w.wmu.TryLock() {
		return errClosing
	}
	defer w.wmu.Unlock()
	if w.closed {
		return errClosing
	}
	w.closed = true
	w.c.SetWriteDeadline(deadline) //nolint:errcheck // surfaces on the write
	_, err := w.c.Write(wsconn.AppendMaskedClose(w.wbuf[:0], code, "", w.maskKey()))
	return err
}

// maskKey returns a fresh masking key; the caller holds wmu.
func (w *wsConn) maskKey() (key [4]byte) {
	binary.LittleEndian.PutUint32(key[:], uint32(w.keys.Uint64()))
	return key
}
