package connector

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// session is one live device connection.
type session struct {
	c        *Connector
	deviceID string
	conn     *websocket.Conn
	codec    *sdkproto.Codec
	welcome  []byte // the encoded Welcome, written first by the writer

	out     chan []byte   // encoded frames for the writer
	wake    chan struct{} // cap 1: the writer must catch up from the stream
	closing chan struct{} // closed by fail
	done    chan struct{} // closed when the writer has closed the socket

	failOnce  sync.Once
	closeCode sdkproto.Code
	closeMsg  string

	appID string

	mu       sync.Mutex
	own      follower // the device's stream
	bc       follower // the app's broadcast stream
	bAcked   uint64   // broadcast position the device acknowledged (mu)
	sentMark uint64   // MarkSent already recorded in the store (writer only)
}

func newSession(c *Connector, dev *store.Device, conn *websocket.Conn, codec *sdkproto.Codec, hello *pb.Hello) *session {
	return &session{
		c:        c,
		deviceID: dev.ID,
		appID:    dev.AppID,
		conn:     conn,
		codec:    codec,
		out:      make(chan []byte, c.cfg.SendQueue),
		wake:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		own: follower{stream: dev.ID, epoch: hello.Epoch, lastSent: hello.LastSeq,
			syncing: true, initial: true, recovered: true},
		bc: follower{stream: store.BroadcastStream(dev.AppID), broadcast: true,
			epoch: hello.BroadcastEpoch, lastSent: hello.BroadcastSeq,
			syncing: true, initial: true, recovered: true, fresh: hello.BroadcastEpoch == 0},
		bAcked:   hello.BroadcastSeq,
		sentMark: hello.LastSeq,
	}
}

// offerOwn queues a message appended to the device's stream.
func (s *session) offerOwn(msg store.Message, epoch uint64) offerResult {
	return s.offer(&s.own, msg.Seq, epoch, func() ([]byte, error) {
		return proto.Marshal(&pb.Frame{Body: &pb.Frame_Push{Push: pushFrame(msg, epoch)}})
	})
}

// offerBroadcast queues an app broadcast whose frame was encoded once for
// every session.
func (s *session) offerBroadcast(seq, epoch uint64, frame []byte) offerResult {
	return s.offer(&s.bc, seq, epoch, func() ([]byte, error) { return frame, nil })
}

func (s *session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// enqueueLocked queues a frame without blocking; false when the queue is full.
func (s *session) enqueueLocked(b []byte) bool {
	select {
	case s.out <- b:
		return true
	default:
		return false
	}
}

// send queues a control frame (pong, welcome, sync response).
func (s *session) send(f *pb.Frame) {
	b, err := proto.Marshal(f)
	if err != nil {
		s.fail(sdkproto.CodeInternal, "encode")
		return
	}
	select {
	case s.out <- b:
	default:
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
			s.conn.NetConn().SetWriteDeadline(time.Now()) //nolint:errcheck // best effort
		}
		close(s.closing)
	})
}

// redirect queues a Redirect frame.
func (s *session) redirect(url string, delay, jitter time.Duration, reason string) {
	s.send(&pb.Frame{Body: &pb.Frame_Redirect{Redirect: &pb.Redirect{
		Url: url, DelayMs: uint32(delay / time.Millisecond), JitterMs: uint32(jitter / time.Millisecond), Reason: reason,
	}}})
}

// writeLoop is the session's only writer: it seals and writes queued
// frames, runs catch-ups, and closes the socket when the session fails.
func (s *session) writeLoop(ctx context.Context) {
	defer close(s.done)
	buf := make([]byte, 0, 512)
	if !s.write(&buf, s.welcome) {
		s.finish()
		return
	}
	s.welcome = nil
	for {
		select {
		case b := <-s.out:
			if !s.write(&buf, b) {
				s.finish()
				return
			}
			if len(s.out) == 0 {
				s.recordSent(ctx)
			}
		case <-s.wake:
			if err := s.catchUpAll(ctx, &buf); err != nil {
				if !errors.Is(err, errWrite) {
					s.c.log.WarnContext(ctx, "catch-up failed", "device_id", s.deviceID, "error", err)
					s.fail(sdkproto.CodeInternal, "catch-up failed")
				}
				s.finish()
				return
			}
			s.recordSent(ctx)
		case <-s.closing:
			s.flushClosing(&buf)
			s.finish()
			return
		}
	}
}

func (s *session) write(buf *[]byte, plain []byte) bool {
	*buf = s.codec.SealRaw((*buf)[:0], plain)
	s.conn.SetWriteDeadline(time.Now().Add(s.c.cfg.WriteTimeout)) //nolint:errcheck // surfaces on write
	if err := s.conn.WriteMessage(websocket.BinaryMessage, *buf); err != nil {
		s.fail(0, "")
		return false
	}
	if cap(*buf) > 64<<10 {
		*buf = make([]byte, 0, 512)
	}
	return true
}

// flushClosing writes what is queued (redirects, replies), then the Error
// frame for the close code.
func (s *session) flushClosing(buf *[]byte) {
	if s.closeCode == sdkproto.CodeSlowConsumer {
		return
	}
	for {
		select {
		case b := <-s.out:
			if !s.write(buf, b) {
				return
			}
			continue
		default:
		}
		break
	}
	if s.closeCode != 0 {
		b, _ := proto.Marshal(&pb.Frame{Body: &pb.Frame_Error{Error: &pb.Error{Code: uint32(s.closeCode), Message: s.closeMsg}}})
		s.write(buf, b)
	}
}

// finish sends the close frame and closes the socket.
func (s *session) finish() {
	code := websocket.CloseNormalClosure
	if s.closeCode != 0 {
		code = int(s.closeCode)
	}
	msg := websocket.FormatCloseMessage(code, s.closeMsg)
	s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)) //nolint:errcheck // best effort
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
	msgs, err := s.c.store.Advance(ctx, s.deviceID, store.MarkSent, through)
	if err != nil {
		s.c.log.WarnContext(ctx, "sent watermark failed", "device_id", s.deviceID, "error", err)
		return
	}
	s.sentMark = through
	// Catch-up skips expired messages; the watermark passes over them, but
	// they were not written.
	now := time.Now()
	live := msgs[:0]
	for _, m := range msgs {
		if !outcome.Expired(m, now) {
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
