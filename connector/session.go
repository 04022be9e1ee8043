package connector

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/connector/internal/netpoll"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/wsconn"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// session is one live device connection.
//
// It has no goroutine of its own while idle: the connector's poller reads
// its socket when bytes arrive (Data, in wire.go), and a writer goroutine
// is started when there is something to write (a queued frame, a
// catch-up, a pong, the close) and exits when there is nothing left.
type session struct {
	c        *Connector
	deviceID string
	// registered is when the device registered: a client new to the
	// broadcast stream gets the broadcasts sent since (follower.fresh).
	registered time.Time
	appID      string
	conn       net.Conn
	codec      *sdkproto.Codec
	// ctx is the session's lifetime (its request's context). It is kept
	// because writers start on demand from other goroutines' calls, whose
	// own contexts must not bound the session's store reads.
	ctx    context.Context
	cancel context.CancelFunc // ends ctx, when the session ended

	// Read side, used by one poller worker at a time.
	dec      wsconn.Decoder
	rbuf     []byte       // a partial WebSocket frame; nil when idle
	lastRead atomic.Int64 // unix ns of the last bytes from the device

	closing chan struct{} // closed by fail
	done    chan struct{} // closed when the socket is closed

	failOnce  sync.Once
	closeCode sdkproto.Code
	closeMsg  string

	// raw writes to the socket without waiting; nil when the conn has no
	// socket (a pipe or a wrapped conn in tests). Writer only.
	raw *rawWriter

	mu          sync.Mutex
	welcome     []byte   // the encoded Welcome, written first
	queue       [][]byte // encoded frames waiting for the writer
	writing     bool     // a writer goroutine runs
	needCatchUp bool     // a follower must catch up from its stream
	closed      bool     // fail was called: the writer closes the socket
	own         follower // the device's stream
	bc          follower // the app's broadcast stream
	bAcked      uint64   // broadcast position the device acknowledged
	sentMark    uint64   // MarkSent already recorded (writer only)
	helloAck    uint64   // the Hello's position, to record as acknowledged (writer only)
	held        int      // bytes framed in the writer's buffer, not yet written (writer only)
	unsent      []byte   // sealed bytes writeQueuedNow left for the writer to write first (writer only)
	pong        []byte   // payload of the WebSocket pong to send
	pongDue     bool     // pong waits for the writer
	reg         *netpoll.Registration
	finished    bool // the socket is closed
}

func newSession(ctx context.Context, c *Connector, dev *store.Device, conn net.Conn, codec *sdkproto.Codec, hello *pb.Hello) *session {
	return &session{
		c:          c,
		deviceID:   dev.ID,
		registered: dev.CreatedAt,
		appID:      dev.AppID,
		conn:       conn,
		raw:        rawWriterOf(conn),
		codec:      codec,
		ctx:        ctx,
		dec:        wsconn.Decoder{MaxMessage: 2 * c.cfg.MaxFrame},
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
		own: follower{stream: dev.ID, epoch: hello.Epoch, lastSent: hello.LastSeq,
			syncing: true, initial: true, recovered: true},
		bc: follower{stream: store.BroadcastStream(dev.AppID), broadcast: true,
			epoch: hello.BroadcastEpoch, lastSent: hello.BroadcastSeq,
			syncing: true, initial: true, recovered: true, fresh: hello.BroadcastEpoch == 0},
		bAcked:   hello.BroadcastSeq,
		sentMark: hello.LastSeq,
	}
}

// start asks for the Welcome (set by the handshake), then the initial
// replay. Unless a writer already runs (a delivery offered to the session
// since the hub listed it), it makes the caller the session's writer, and
// returns true: the caller then runs writer itself.
func (s *session) start() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.needCatchUp = true
	if s.writing {
		return false
	}
	s.writing = true
	return true
}

// offerOwn queues a message appended to the device's stream.
func (s *session) offerOwn(msg store.Message, epoch uint64, later *[]*session) offerResult {
	return s.offer(&s.own, msg.Seq, epoch, func() ([]byte, error) {
		return proto.Marshal(&pb.Frame{Body: &pb.Frame_Push{Push: pushFrame(msg, epoch)}})
	}, later)
}

// offerBroadcast queues an app broadcast whose frame was encoded once for
// every session. A session whose writer must start is added to later
// instead (see kickLockedLater).
func (s *session) offerBroadcast(seq, epoch uint64, frame []byte, later *[]*session) offerResult {
	return s.offer(&s.bc, seq, epoch, func() ([]byte, error) { return frame, nil }, later)
}

// kickLocked starts the writer unless it runs.
func (s *session) kickLocked() { s.kickLockedLater(nil) }

// kickLockedLater is kickLocked, but with later non-nil it adds the
// session to *later instead of starting its writer; the caller writes to
// all of them (writeOut) once it has offered to every session. The session
// counts as writing meanwhile, so nothing else starts a second writer.
// Started one by one, the writers of a broadcast took the CPU from the loop
// that offered it, which then lasted most of the fan-out.
func (s *session) kickLockedLater(later *[]*session) {
	if s.writing {
		return
	}
	s.writing = true
	if later != nil {
		*later = append(*later, s)
		return
	}
	s.c.writers.start(s.writer)
}

// writeOut does the work of the writers that kickLockedLater left to the
// caller: on the caller's goroutine it writes each session's queued frames
// when that is all there is to do (writeQueuedNow), then records what went
// out, and starts the writer of every other session. A delivery so costs
// no goroutine per idle session, nor the stack that goroutine grew in the
// seal. Every frame is written before the first watermark, so that no
// device waits for another's store write.
//
// Frames queued to a session while it was being written (another
// broadcast's, offered to it meanwhile) are written in a further round,
// up to writeRounds, rather than by the session's writer. later is reused.
func writeOut(later []*session) {
	var buf []byte
	for round := 1; len(later) > 0; round++ {
		written := later[:0]
		for _, s := range later {
			if s.writeQueuedNow(&buf) {
				written = append(written, s)
			} else {
				s.c.writers.start(s.writer)
			}
		}
		again := written[:0]
		for _, s := range written {
			switch done, queued := s.doneWriting(); {
			case done:
			case queued && round < writeRounds:
				again = append(again, s)
			default:
				s.c.writers.start(s.writer)
			}
		}
		later = again
	}
}

// writeRounds bounds the rounds of one writeOut: under broadcasts that
// keep coming, the sessions still queued then go to their writers.
const writeRounds = 4

// doneWriting ends a write as the writer ends: it records what went out of
// the device's own stream, then stops writing unless something is left to
// write. It returns false when something is, and the session still counts
// as writing; queued then tells whether that is only queued frames, which
// the caller may write itself (writeQueuedNow).
func (s *session) doneWriting() (done, queued bool) {
	s.recordSent(s.ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.otherWorkLocked() || s.unsent != nil {
		return false, false
	}
	if len(s.queue) > 0 {
		return false, true
	}
	s.writing = false
	return true, false
}

// otherWorkLocked reports whether the writer has work besides the queued
// frames: the Welcome, a catch-up, a pong or the close.
func (s *session) otherWorkLocked() bool {
	return s.welcome != nil || s.needCatchUp || s.pongDue || s.closed
}

// signalLocked asks the writer for a catch-up.
func (s *session) signalLocked(later *[]*session) {
	s.needCatchUp = true
	s.kickLockedLater(later)
}

// enqueueLocked queues a frame without blocking; false when the queue is
// full. later is kickLockedLater's.
func (s *session) enqueueLocked(b []byte, later *[]*session) bool {
	if len(s.queue) >= s.c.cfg.SendQueue {
		return false
	}
	s.queue = append(s.queue, b)
	s.kickLockedLater(later)
	return true
}

// send queues a control frame (pong, redirect, sync response).
func (s *session) send(f *pb.Frame) {
	b, err := proto.Marshal(f)
	if err != nil {
		s.fail(sdkproto.CodeInternal, "encode")
		return
	}
	s.mu.Lock()
	ok := s.enqueueLocked(b, nil)
	s.mu.Unlock()
	if !ok {
		s.fail(sdkproto.CodeSlowConsumer, "send queue full")
	}
}

// fail closes the session once with code; 0 closes normally without an
// Error frame.
func (s *session) fail(code sdkproto.Code, msg string) {
	s.failOnce.Do(func() {
		s.closeCode, s.closeMsg = code, msg
		if code == sdkproto.CodeSlowConsumer {
			// Unblock a writer stuck on a device that does not read.
			s.conn.SetWriteDeadline(time.Now()) //nolint:errcheck // best effort
		}
		close(s.closing)
		s.mu.Lock()
		s.closed = true
		s.kickLocked()
		s.mu.Unlock()
	})
}

// redirect queues a Redirect frame.
func (s *session) redirect(url string, delay, jitter time.Duration, reason string) {
	s.send(&pb.Frame{Body: &pb.Frame_Redirect{Redirect: &pb.Redirect{
		Url: url, DelayMs: uint32(delay / time.Millisecond), JitterMs: uint32(jitter / time.Millisecond), Reason: reason,
	}}})
}

// writer is the session's only writer while it runs: it writes the
// Welcome, queued frames and catch-ups, records what was sent, closes the
// socket when the session failed, and exits when nothing is left.
func (s *session) writer() {
	buf := make([]byte, 0, 512)
	if b := s.unsent; b != nil {
		s.unsent = nil
		if !s.flush(b) {
			s.fail(0, "")
		}
	}
	for {
		s.mu.Lock()
		switch {
		case s.welcome != nil:
			w := s.welcome
			s.welcome = nil
			hold := s.needCatchUp // the initial replay follows: one write for all
			s.mu.Unlock()
			if hold {
				s.hold(&buf, w)
			} else {
				s.write(&buf, w)
			}
		case s.closed:
			s.mu.Unlock()
			s.flushClosing(&buf)
			s.finish()
			close(s.done)
			s.c.end(s)
			return
		case s.pongDue:
			s.pongDue = false
			buf = wsconn.AppendFrame(buf[:s.held], wsconn.OpPong, s.pong)
			s.held = 0
			s.mu.Unlock()
			if !s.flush(buf) {
				s.fail(0, "")
			}
		case s.needCatchUp && len(s.queue) > 0 && !s.own.initial && !s.bc.initial:
			// Frames queued before the catch-up was asked for hold
			// messages up to lastSent, and the catch-up reads after
			// lastSent: they go first. Written after it, a device would
			// see a later message first and drop them as delivered.
			batch := s.queue
			s.queue = nil
			s.mu.Unlock()
			s.writeBatch(&buf, batch)
		case s.needCatchUp:
			s.needCatchUp = false
			s.mu.Unlock()
			if err := s.catchUpAll(s.ctx, &buf); err != nil {
				if !errors.Is(err, errWrite) {
					s.c.log.WarnContext(s.ctx, "catch-up failed", "device_id", s.deviceID, "error", err)
					s.fail(sdkproto.CodeInternal, "catch-up failed")
				}
				s.fail(0, "")
			}
		case len(s.queue) > 0:
			batch := s.queue
			s.queue = nil
			s.mu.Unlock()
			s.writeBatch(&buf, batch)
		default:
			s.mu.Unlock()
			if done, _ := s.doneWriting(); done {
				return
			}
		}
	}
}

// flushClosing writes what is queued (redirects, replies), then the Error
// frame for the close code.
func (s *session) flushClosing(buf *[]byte) {
	if s.closeCode == sdkproto.CodeSlowConsumer {
		return
	}
	s.mu.Lock()
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()
	if len(batch) > 0 && !s.writeBatch(buf, batch) {
		return
	}
	if s.closeCode != 0 {
		b, _ := proto.Marshal(&pb.Frame{Body: &pb.Frame_Error{Error: &pb.Error{Code: uint32(s.closeCode), Message: s.closeMsg}}})
		s.write(buf, b)
	}
}

// finish sends the close frame, stops reading and closes the socket.
func (s *session) finish() {
	code := 1000 // normal closure
	if s.closeCode != 0 {
		code = int(s.closeCode)
	}
	s.conn.SetWriteDeadline(time.Now().Add(time.Second))    //nolint:errcheck // best effort
	s.conn.Write(wsconn.AppendClose(nil, code, s.closeMsg)) //nolint:errcheck // best effort
	s.mu.Lock()
	s.finished = true
	reg := s.reg
	s.mu.Unlock()
	if reg != nil {
		reg.Remove()
	}
	s.conn.Close()
}

// recordSent advances the store's sent watermark and counts deliveries.
func (s *session) recordSent(ctx context.Context) {
	s.mu.Lock()
	through := s.own.lastSent
	s.mu.Unlock()
	if through <= s.sentMark {
		return
	}
	now := time.Now()
	if sc, ok := s.c.store.(store.SentCounter); ok {
		// The store counts the deliveries with the watermark.
		if _, err := sc.AdvanceSent(ctx, s.deviceID, through, now); err != nil {
			s.c.log.WarnContext(ctx, "sent watermark failed", "device_id", s.deviceID, "error", err)
			return
		}
		s.sentMark = through
		return
	}
	msgs, err := s.c.store.Advance(ctx, s.deviceID, store.MarkSent, through)
	if err != nil {
		s.c.log.WarnContext(ctx, "sent watermark failed", "device_id", s.deviceID, "error", err)
		return
	}
	s.sentMark = through
	// Catch-up skips expired messages; the watermark passes over them, but
	// they were not written.
	live := msgs[:0]
	for _, m := range msgs {
		if !m.Expired(now) {
			live = append(live, m)
		}
	}
	s.c.countMessages(ctx, live, store.Counts{Delivered: 1})
}

func pushFrame(m store.Message, epoch uint64) *pb.Push {
	p := &pb.Push{
		PushId:   m.PushID,
		Seq:      m.Seq,
		Title:    m.Title,
		Body:     m.Body,
		Data:     m.Data,
		SentAtMs: m.SentAt.UnixMilli(),
		Epoch:    epoch,
	}
	if !m.ExpiresAt.IsZero() {
		p.ExpiresAtMs = m.ExpiresAt.UnixMilli()
	}
	return p
}
