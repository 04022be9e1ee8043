package connector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// follower is a session's position in one stream: the device's own, or
// the app's broadcast stream. epoch, lastSent and syncing are guarded by the
// session's mu; the rest belongs to the writer.
type follower struct {
	stream    string
	broadcast bool

	epoch    uint64 // stream epoch the session follows
	lastSent uint64 // last sequence queued or written
	syncing  bool   // a catch-up is pending or running
	// left is the newest message an offer left to a catch-up, which must
	// write it: one that arrives after the catch-up read its last page
	// needs another round.
	leftEpoch, leftSeq uint64

	initial   bool // the first replay has not finished
	fresh     bool // the client never saw this stream: its replay starts at its registration (catchUp)
	recovered bool // outcome of the first replay
	// firstWritten is the first message a fresh replay wrote, 0 if none.
	firstWritten uint64
}

// kind names the stream in metrics.
func (f *follower) kind() string {
	if f.broadcast {
		return "broadcast"
	}
	return "own"
}

// offerResult says how an appended message will reach a session.
type offerResult uint8

const (
	offerDropped offerResult = iota // it will not: the session is closing
	offerQueued                     // queued now, next in stream order
	offerLater                      // a catch-up from the stream will write it
)

// offer queues an appended message's encoded frame when it is the next one
// of the stream; otherwise it leaves it to a catch-up. With later non-nil,
// a writer that must start is left to the caller (kickLockedLater).
func (s *session) offer(f *follower, seq, epoch uint64, frame func() ([]byte, error), later *[]*session) offerResult {
	select {
	case <-s.closing:
		return offerDropped
	default:
	}
	s.mu.Lock()
	if !f.syncing && f.epoch == 0 && f.lastSent == 0 && epoch != 0 && seq == 1 {
		// The stream did not exist when the session read it, and this is
		// its first message: the client takes the epoch from the push
		// itself (protocol 9.4), so it needs no catch-up from the store.
		s.setEpochLocked(f, epoch)
	}
	if f.syncing || epoch != f.epoch || seq != f.lastSent+1 {
		if seq > f.lastSent || epoch != f.epoch {
			f.syncing = true
			if epoch != f.leftEpoch || seq > f.leftSeq {
				f.leftEpoch, f.leftSeq = epoch, seq
			}
			s.signalLocked(later)
		}
		s.mu.Unlock()
		return offerLater
	}
	b, err := frame()
	if err != nil {
		s.mu.Unlock()
		return offerDropped
	}
	if !s.enqueueLocked(b, later) {
		s.mu.Unlock()
		s.fail(sdkproto.CodeSlowConsumer, "send queue full")
		return offerDropped
	}
	f.lastSent = seq
	s.mu.Unlock()
	return offerQueued
}

// catchUpAll runs the catch-up of every follower that needs one.
// The last page of the device's stream waits for the broadcast stream's
// first when both catch up, so that a fresh session's Welcome and both
// initial pages leave in one socket write.
func (s *session) catchUpAll(ctx context.Context, buf *[]byte) error {
	for _, f := range []*follower{&s.own, &s.bc} {
		s.mu.Lock()
		need := f.syncing
		holdLast := f == &s.own && s.bc.syncing
		s.mu.Unlock()
		if need {
			if !f.initial {
				s.c.m.catchUps.WithLabelValues(f.kind()).Inc()
			}
			if err := s.catchUp(ctx, f, buf, holdLast); err != nil {
				return err
			}
		}
	}
	if !s.flushHeld(buf) {
		return errWrite
	}
	if through := s.helloAck; through > 0 {
		s.helloAck = 0
		n, err := outcome.Ack(ctx, s.c.acks(), s.deviceID, through, time.Now())
		if err != nil {
			s.c.log.WarnContext(ctx, "ack of the hello's position failed", "device_id", s.deviceID, "error", err)
		}
		s.c.m.helloAcks.Add(float64(n))
	}
	return nil
}

// catchUp writes everything after lastSent from the stream, page by page,
// until the stream has nothing more; then live messages flow again.
func (s *session) catchUp(ctx context.Context, f *follower, buf *[]byte, holdLast bool) error {
	var helloEpoch, helloSeq uint64 // the client's position, before the first replay moves it
	if f.initial {
		s.mu.Lock()
		helloEpoch, helloSeq = f.epoch, f.lastSent
		s.mu.Unlock()
	}
	for {
		s.mu.Lock()
		epoch, since := f.epoch, f.lastSent
		s.mu.Unlock()
		limit := s.c.cfg.SyncPage
		if f.fresh && s.registered.IsZero() {
			limit = 0 // only the head
		}
		page, err := s.c.store.ReadStream(ctx, f.stream, epoch, since, limit)
		if err != nil {
			return err
		}
		if helloSeq > page.Head && page.Epoch == helloEpoch {
			renewed, err := s.renewGoneBack(ctx, f, helloEpoch, helloSeq)
			if err != nil {
				// Replayed in the same epoch, the client would keep its
				// position and pass the next messages over: the session
				// ends, and the client's next one tries again.
				return err
			}
			if renewed {
				helloSeq = 0 // read it again, in its new epoch, from its oldest message
				continue
			}
		}
		if f.fresh && limit == 0 {
			page.Messages, page.More = nil, false // only the head was asked for
		}
		out := page
		if f.fresh {
			// A client that never saw the stream (its broadcast position
			// is 0) gets no broadcast older than its device: those were
			// sent before it existed. Those sent since reach it although
			// it never saw the stream, which did not exist yet when it
			// last connected, say (protocol 9.10).
			out.Messages, out.Recovered = sentSince(page.Messages, s.registered), true
			if len(out.Messages) > 0 && f.firstWritten == 0 {
				s.mu.Lock()
				f.firstWritten = out.Messages[0].Seq
				s.mu.Unlock()
			}
		}
		// Move the position before writing: the client may ack the page
		// before this goroutine runs again, and an ack is checked against
		// the epoch the session follows. Order is safe: this goroutine is
		// the only writer, so live frames queued meanwhile go out after.
		done := s.advance(f, page)
		if err := s.writePage(ctx, f, out, buf, done && holdLast); err != nil {
			return err
		}
		if done {
			if !f.broadcast && helloSeq > 0 && page.Epoch == helloEpoch {
				// The client holds everything through helloSeq and says so
				// (protocol 9.1): its Ack for them may have been lost with
				// the last connection. catchUpAll records it.
				s.helloAck = helloSeq
			}
			f.initial, f.fresh = false, false
			if f.broadcast {
				s.c.order.note(s.appID, page.Epoch, page.Head)
			}
			return nil
		}
	}
}

// sentSince returns the messages sent at or after t; none when t is zero
// (the registration is not known: the client starts at the head).
func sentSince(msgs []store.Message, t time.Time) []store.Message {
	if t.IsZero() {
		return nil
	}
	var out []store.Message
	for _, m := range msgs {
		if !m.SentAt.Before(t) {
			out = append(out, m)
		}
	}
	return out
}

// renewGoneBack moves f's stream to a new epoch, keeping its messages: the
// client holds position held, past the stream's head in its epoch, so the
// stream lost messages the client read, and later ones would take their
// numbers (decisions.md, "Streams that lose messages"). It reports whether
// the stream is in another epoch now; a store that cannot renew (its
// streams never go back) leaves it as it is. The app's broadcast stream,
// which every device of the app would then read again, is renewed only
// when this connector saw it reach held itself: one device's word does not
// move it. A renewal that fails is an error: the session ends rather than
// replay the stream in an epoch the client would keep its position in.
func (s *session) renewGoneBack(ctx context.Context, f *follower, epoch, held uint64) (bool, error) {
	r, ok := s.c.store.(EpochRenewer)
	if !ok || f.broadcast && s.c.order.seen(s.appID, epoch) < held {
		return false, nil
	}
	now, err := r.RenewEpoch(ctx, f.stream, epoch)
	if err != nil {
		s.c.log.WarnContext(ctx, "a stream that went back could not move to a new epoch", "device_id", s.deviceID,
			"stream", f.kind(), "error", err)
		return false, fmt.Errorf("renew the %s stream's epoch: %w", f.kind(), err)
	}
	return now != epoch, nil
}

// writePage writes one catch-up page; the first replay always writes, so
// the client learns the stream's epoch and head.
// With hold, the page waits in buf for the next write.
func (s *session) writePage(ctx context.Context, f *follower, page store.Page, buf *[]byte, hold bool) error {
	resp := &pb.SyncResponse{Epoch: page.Epoch, HeadSeq: page.Head, More: page.More,
		Recovered: page.Recovered, Broadcast: f.broadcast}
	if f.initial {
		// The first replay recovered only if every one of its pages did.
		f.recovered = f.recovered && page.Recovered
		resp.Recovered = f.recovered
	}
	for _, m := range page.Messages {
		p := pushFrame(m, page.Epoch)
		p.Broadcast = f.broadcast
		resp.Pushes = append(resp.Pushes, p)
	}
	if len(resp.Pushes) == 0 && !f.initial {
		return nil
	}
	b, err := proto.Marshal(&pb.Frame{Body: &pb.Frame_SyncResponse{SyncResponse: resp}})
	if err != nil {
		return err
	}
	if hold {
		s.hold(buf, b)
		return nil // only own-stream pages are held; their deliveries count when sent
	}
	if !s.write(buf, b) {
		return errWrite
	}
	if f.broadcast && len(page.Messages) > 0 {
		s.c.countMessages(ctx, page.Messages, store.Counts{Delivered: 1})
	}
	return nil
}

// advance moves lastSent past a written page; true when caught up.
func (s *session) advance(f *follower, page store.Page) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if page.Epoch != f.epoch {
		s.setEpochLocked(f, page.Epoch)
	}
	if n := len(page.Messages); n > 0 {
		f.lastSent = page.Messages[n-1].Seq
	}
	if page.More {
		return false
	}
	if page.Head > f.lastSent {
		f.lastSent = page.Head // the rest had expired, or a fresh start
	}
	if f.fresh && f.broadcast {
		// Acks count from the first broadcast written to the client.
		s.bAcked = f.lastSent
		if f.firstWritten > 0 {
			s.bAcked = f.firstWritten - 1
		}
	}
	// A message offered while this page was read, past it, was left to
	// this catch-up: another round reads it (the offer asked for one).
	f.syncing = f.leftEpoch != 0 && (f.leftEpoch != f.epoch || f.leftSeq > f.lastSent)
	f.leftEpoch, f.leftSeq = 0, 0
	if f.syncing {
		s.needCatchUp = true
	}
	return true
}

// setEpochLocked makes the session follow another epoch of f's stream,
// from its start.
func (s *session) setEpochLocked(f *follower, epoch uint64) {
	f.epoch = epoch
	if f.broadcast {
		s.bAcked = 0
	} else {
		s.sentMark = 0
	}
}

var errWrite = errors.New("socket write failed")
