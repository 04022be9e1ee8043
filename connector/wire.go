package connector

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/mopush/mopush/internal/wsconn"
	"github.com/mopush/mopush/sdkproto"
)

// maxWriteBatch is how many bytes of queued frames the writer gathers
// into one socket write.
const maxWriteBatch = 64 << 10

// begin registers a handshaken session and starts it; from then on the
// poller reads its frames. pending holds bytes that arrived with the
// handshake's last frame. The Welcome and the initial replay are written
// on the caller's goroutine, last, rather than handed to a writer
// goroutine that would have to be woken or started.
func (c *Connector) begin(s *session, pending []byte) {
	if old := c.hub.add(s); old != nil {
		old.fail(sdkproto.CodeReplaced, "another session of this device connected")
	}
	c.m.sessions.Inc()
	s.touch()
	if s.start() {
		defer s.writer()
	}
	if len(pending) > 0 && !s.Data(pending) {
		return // the session failed on them
	}
	reg, err := c.poller.Add(s.conn, s)
	if err != nil {
		c.log.WarnContext(s.ctx, "cannot watch a session", "device_id", s.deviceID, "error", err)
		s.fail(sdkproto.CodeInternal, "cannot watch the connection")
		return
	}
	s.mu.Lock()
	s.reg = reg
	finished := s.finished
	s.mu.Unlock()
	if finished {
		reg.Remove() // the writer closed the socket meanwhile
		return
	}
	// Disconnect records a deleted device before it looks for its
	// session, and the session was registered above: one of the two sees
	// the other.
	if _, gone := c.deleted.Get(s.deviceID); gone {
		s.fail(sdkproto.CodeAuthFailed, "device deleted")
	}
}

// end is the last step of a session, after its socket closed.
func (c *Connector) end(s *session) {
	c.hub.remove(s)
	c.m.sessions.Dec()
	if s.closeCode != 0 {
		c.m.disconnects.WithLabelValues(s.closeCode.String()).Inc()
	}
	s.cancel()
	c.wg.Done()
}

// touch records that the device was heard from.
func (s *session) touch() { s.lastRead.Store(time.Now().UnixNano()) }

// Data handles bytes the poller read from the device: it decodes complete
// WebSocket messages and handles their frames, keeping a partial one for
// the next call. It returns false once the session failed.
func (s *session) Data(p []byte) bool {
	s.touch()
	buf := p
	if len(s.rbuf) > 0 {
		s.rbuf = append(s.rbuf, p...)
		buf = s.rbuf
	}
	for {
		m, n, err := s.dec.Decode(buf)
		if err != nil {
			code := sdkproto.CodeBadFrame
			if errors.Is(err, wsconn.ErrTooLarge) {
				code = sdkproto.CodeFrameTooLarge
			}
			s.fail(code, code.String())
			return false
		}
		if n == 0 {
			break
		}
		buf = buf[n:]
		if m.Op == wsconn.OpContinuation {
			continue // fragments taken in; the message is not complete yet
		}
		if !s.message(m) {
			return false
		}
	}
	if len(buf) == 0 {
		s.rbuf = nil // an idle session keeps no buffer
	} else {
		s.rbuf = append(s.rbuf[:0], buf...) // a partial frame; may overlap
	}
	return true
}

// message handles one WebSocket message; false when the session ended.
func (s *session) message(m wsconn.Message) bool {
	c := s.c
	switch m.Op {
	case wsconn.OpBinary:
		f, err := s.codec.Open(m.Payload)
		if errors.Is(err, sdkproto.ErrUnknownFrame) {
			c.m.framesIn.WithLabelValues("unknown").Inc()
			return true // a newer client's frame type: skip it
		}
		if err != nil {
			code := sdkproto.CodeOf(err)
			s.fail(code, code.String())
			return false
		}
		if code := c.handleFrame(s.ctx, s, f); code != 0 {
			s.fail(code, code.String())
			return false
		}
		return true
	case wsconn.OpPing:
		s.queuePong(m.Payload)
		return true
	case wsconn.OpPong:
		return true
	case wsconn.OpClose:
		s.fail(0, "") // the device closes: answer and close
		return false
	default: // text
		s.fail(sdkproto.CodeBadFrame, sdkproto.CodeBadFrame.String())
		return false
	}
}

// Closed handles the end of reading: the device went away.
func (s *session) Closed(error) { s.fail(0, "") }

// queuePong queues the answer to a WebSocket ping.
func (s *session) queuePong(payload []byte) {
	s.mu.Lock()
	s.pong = append(s.pong[:0], payload...)
	s.pongDue = true
	s.kickLocked()
	s.mu.Unlock()
}

// sweepIdle closes the sessions that sent nothing for two heartbeats.
func (c *Connector) sweepIdle(now time.Time) {
	limit := now.Add(-2 * c.cfg.Heartbeat).UnixNano()
	c.hub.each(func(s *session) {
		if s.lastRead.Load() < limit {
			s.fail(sdkproto.CodeStale, "no frame within two heartbeats")
		}
	})
}

// appendFrame appends plain, sealed, as one binary WebSocket message.
func (s *session) appendFrame(dst, plain []byte) []byte {
	dst = wsconn.AppendHeader(dst, wsconn.OpBinary, len(plain)+sdkproto.Overhead)
	return s.codec.SealRaw(dst, plain)
}

// flush writes buf to the socket; false when the write failed. What the
// socket's send buffer takes at once is written without a deadline; only
// the rest waits, bounded by WriteTimeout.
func (s *session) flush(buf []byte) bool {
	if s.raw != nil {
		n, err := s.raw.writeNow(buf)
		switch {
		case n == len(buf) && err == nil:
			return true
		case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
			return false
		}
		// A deadline that passed (a slow write's, or fail's) is
		// replaced below, as every write did before.
		buf = buf[n:]
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.c.cfg.WriteTimeout)) //nolint:errcheck // surfaces on write
	_, err := s.conn.Write(buf)
	if err == nil && s.raw != nil {
		// The next write that fits at once must not find it passed.
		s.conn.SetWriteDeadline(time.Time{}) //nolint:errcheck // surfaces on write
	}
	return err == nil
}

// rawWriterOf returns a writer without a deadline for conn's socket, or
// nil when conn has none.
func rawWriterOf(conn net.Conn) *rawWriter {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return newRawWriter(rc)
}

// write seals and writes one frame, after any held ones.
func (s *session) write(buf *[]byte, plain []byte) bool {
	*buf = s.appendFrame((*buf)[:s.held], plain)
	s.held = 0
	ok := s.flush(*buf)
	s.trim(buf)
	if !ok {
		s.fail(0, "")
	}
	return ok
}

// writeBatch seals frames and writes them with as few socket writes as
// maxWriteBatch allows.
func (s *session) writeBatch(buf *[]byte, frames [][]byte) bool {
	b := (*buf)[:s.held]
	s.held = 0
	ok := true
	for i, plain := range frames {
		b = s.appendFrame(b, plain)
		if len(b) >= maxWriteBatch || i == len(frames)-1 {
			if ok = s.flush(b); !ok {
				break
			}
			b = b[:0]
		}
	}
	*buf = b
	s.trim(buf)
	if !ok {
		s.fail(0, "")
	}
	return ok
}

// writeQueuedNow is the writer's work done by the holder of writing (see
// writeOut) when the session has nothing but queued frames to write: it
// seals up to maxWriteBatch bytes of them into buf, scratch space shared
// across sessions, and writes what the socket takes at once. It reports
// whether all it sealed went out; the caller then ends the write with
// doneWriting. Otherwise the caller starts the writer, which writes first
// what the socket did not take (unsent), then the frames left in the queue.
func (s *session) writeQueuedNow(buf *[]byte) bool {
	if s.raw == nil || s.held != 0 || s.unsent != nil {
		return false
	}
	s.mu.Lock()
	if s.otherWorkLocked() || len(s.queue) == 0 {
		s.mu.Unlock()
		return false
	}
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()
	b := (*buf)[:0]
	i := 0
	for ; i < len(batch) && len(b) < maxWriteBatch; i++ {
		b = s.appendFrame(b, batch[i])
	}
	if n, err := s.raw.writeNow(b); err != nil || n < len(b) {
		// The writer's flush waits for the rest, or fails the session
		// on the error.
		s.unsent = append([]byte(nil), b[n:]...)
	}
	*buf = b
	s.trim(buf)
	if rest := batch[i:]; len(rest) > 0 {
		s.mu.Lock()
		s.queue = append(rest[:len(rest):len(rest)], s.queue...)
		s.mu.Unlock()
	}
	return s.unsent == nil
}

// hold seals one frame into the buffer, behind any held ones, to be
// written with the next write.
func (s *session) hold(buf *[]byte, plain []byte) {
	*buf = s.appendFrame((*buf)[:s.held], plain)
	s.held = len(*buf)
}

// flushHeld writes the held frames, if any.
func (s *session) flushHeld(buf *[]byte) bool {
	if s.held == 0 {
		return true
	}
	ok := s.flush((*buf)[:s.held])
	s.held = 0
	if !ok {
		s.fail(0, "")
	}
	return ok
}

// trim drops a write buffer that grew past a batch.
func (s *session) trim(buf *[]byte) {
	if cap(*buf) > 2*maxWriteBatch {
		*buf = make([]byte, 0, 512)
	}
}
