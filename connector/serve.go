package connector

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/wsconn"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// Path is where devices connect.
const Path = "/v1/connect"

// ServeHTTP upgrades a device connection, runs the handshake, and hands the
// session to the connector's poller: the handler returns, so that an idle
// session holds no goroutine, stack or read buffer. Connections accepted by
// the listener Split returns never reach it; this is the path of any other
// server the connector is mounted on.
func (c *Connector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if no := c.admit(r.Context(), r.URL.Query().Get("device_id")); no != nil {
		if no.retryAfter {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, no.msg, no.status)
		return
	}
	hc, subprotocol := offered(r.Header.Values("Sec-WebSocket-Protocol"))
	var err error
	if hc.conn, hc.pending, hc.response, err = wsconn.Hijack(w, r, subprotocol); err != nil {
		c.wg.Done()
		c.m.handshakes.WithLabelValues("upgrade_failed").Inc()
		return // Upgrade answered the client
	}
	// The session outlives this handler: its context keeps the request's
	// values but not its cancellation, and ends with the session.
	c.serveUpgraded(context.WithoutCancel(r.Context()), hc)
}

// offered begins the handshake of a connect whose Sec-WebSocket-Protocol
// values are protocols: with the early hello they carry, if any, and the
// subprotocol to select.
func offered(protocols []string) (*handshakeConn, string) {
	early, isEarly, earlyErr := sdkproto.EarlyHello(protocols)
	if isEarly {
		return &handshakeConn{early: true, earlyHello: early, earlyErr: earlyErr}, sdkproto.SubprotocolEarlyHello
	}
	return &handshakeConn{}, sdkproto.Subprotocol
}

// refusal is why a device connect is answered with an HTTP error before
// the upgrade.
type refusal struct {
	status     int
	msg        string
	retryAfter bool // Retry-After: 1
}

// admit decides whether a device connect may go on to the upgrade; when it
// may, the connector counts it as in flight (c.wg) until serveUpgraded or
// the caller's c.wg.Done.
func (c *Connector) admit(ctx context.Context, deviceID string) *refusal {
	if c.pollErr != nil {
		c.log.ErrorContext(ctx, "no poller: refusing sessions", "error", c.pollErr)
		return &refusal{status: http.StatusServiceUnavailable, msg: "connector unavailable"}
	}
	if deviceID != "" && !c.owns(deviceID) {
		// A device back from a dropped session dialled its last connector
		// without asking the dispatcher; the ring has moved it since.
		c.m.handshakes.WithLabelValues("misdirected").Inc()
		return &refusal{status: http.StatusMisdirectedRequest, msg: "device not owned by this connector: ask the dispatcher"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return &refusal{status: http.StatusServiceUnavailable, msg: "connector draining", retryAfter: true}
	}
	c.wg.Add(1)
	return nil
}

// serveUpgraded runs the handshake on an upgraded connection, admitted by
// admit, and starts its session.
func (c *Connector) serveUpgraded(ctx context.Context, hc *handshakeConn) {
	ctx, cancel := context.WithCancel(ctx)
	start := time.Now()
	hc.dec = wsconn.Decoder{MaxMessage: 2 * c.cfg.MaxFrame}
	s, code := c.handshake(ctx, hc)
	if s == nil {
		cancel()
		c.wg.Done()
		c.m.handshakes.WithLabelValues(code.String()).Inc()
		c.m.disconnects.WithLabelValues(code.String()).Inc()
		closeRaw(hc.conn, hc.response, code)
		return
	}
	c.m.handshakes.WithLabelValues("ok").Inc()
	c.m.handshakeS.Observe(time.Since(start).Seconds())
	s.cancel = cancel
	c.begin(s, hc.pending)
}

// handshakeConn is a connection during the handshake, read with blocking
// calls under the handshake deadline.
type handshakeConn struct {
	conn    net.Conn
	pending []byte // read, not yet decoded
	dec     wsconn.Decoder
	// response is the 101 response until it is written, with the
	// ServerHello of an early hello or before the first read.
	response []byte
	// early: the upgrade request carried the ClientHello (earlyHello, or
	// earlyErr when it was malformed).
	early      bool
	earlyHello []byte
	earlyErr   error
}

// closeRaw closes a connection that has no session with a close code,
// written after unsent, the 101 response if it is still due.
func closeRaw(conn net.Conn, unsent []byte, code sdkproto.Code) {
	writeAndClose(conn, wsconn.AppendClose(unsent, int(code), code.String()))
}

// writeAndClose writes b, its last words to a connection without a
// session, and closes the connection, after its write side, so that b is
// not cut off by a reset.
func writeAndClose(conn net.Conn, b []byte) {
	conn.SetWriteDeadline(time.Now().Add(time.Second)) //nolint:errcheck // best effort
	conn.Write(b)                                      //nolint:errcheck // best effort
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite() //nolint:errcheck // best effort
	}
	conn.Close()
}

// handshake runs the device handshake; on failure it returns the close code.
func (c *Connector) handshake(ctx context.Context, hc *handshakeConn) (*session, sdkproto.Code) {
	conn := hc.conn
	conn.SetDeadline(time.Now().Add(c.cfg.HandshakeTimeout)) //nolint:errcheck // surfaces on read
	first := hc.earlyHello
	if hc.early {
		if hc.earlyErr != nil {
			return nil, sdkproto.CodeOf(hc.earlyErr)
		}
	} else {
		if _, err := conn.Write(hc.response); err != nil {
			return nil, sdkproto.CodeInternal
		}
		hc.response = nil
		var code sdkproto.Code
		if first, code = c.readBinary(hc); code != 0 {
			return nil, code
		}
	}
	hs, serverHello, err := sdkproto.AcceptClientHello(first)
	if err != nil {
		return nil, sdkproto.CodeOf(err)
	}
	dev, err := c.device(ctx, hs.Hello.DeviceId)
	if err != nil {
		c.log.WarnContext(ctx, "device lookup failed", "error", err)
		return nil, sdkproto.CodeInternal
	}
	// With an early hello, the 101 response and the ServerHello leave in
	// one write.
	out := wsconn.AppendFrame(hc.response, wsconn.OpBinary, serverHello)
	hc.response = nil
	if _, err := conn.Write(out); err != nil {
		return nil, sdkproto.CodeInternal
	}
	msg, code := c.readBinary(hc)
	if code != 0 {
		return nil, code
	}
	codec := hs.Codec()
	codec.MaxFrame = c.cfg.MaxFrame
	secret := dev.Secret
	hello, err := hs.VerifyHello(secret, msg)
	if err != nil {
		code := sdkproto.CodeOf(err)
		sendError(conn, codec, code)
		return nil, code
	}
	conn.SetDeadline(time.Time{}) //nolint:errcheck // writes set their own
	s := newSession(ctx, c, dev, conn, codec, hello)
	welcome, err := proto.Marshal(&pb.Frame{Body: &pb.Frame_Welcome{Welcome: &pb.Welcome{
		Proof:        hs.WelcomeProof(secret),
		SessionId:    ids.New(),
		HeartbeatMs:  uint32(c.cfg.Heartbeat / time.Millisecond),
		ServerTimeMs: time.Now().UnixMilli(),
	}}})
	if err != nil {
		return nil, sdkproto.CodeInternal
	}
	s.welcome = welcome
	return s, 0
}

// device returns the device, or for an unknown id a stand-in with a random
// secret, so that the failure shows only at the proof, like a wrong secret.
func (c *Connector) device(ctx context.Context, id string) (*store.Device, error) {
	devs, err := c.store.Devices(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if devs[0] == nil {
		return &store.Device{ID: id, Secret: ids.Secret(32)}, nil
	}
	return devs[0], nil
}

// readBinary reads one binary message of the handshake, skipping pings and
// pongs; a code says why it could not.
func (c *Connector) readBinary(hc *handshakeConn) ([]byte, sdkproto.Code) {
	for {
		m, err := wsconn.ReadMessage(hc.conn, &hc.dec, &hc.pending)
		if err != nil {
			return nil, readErrCode(err)
		}
		switch m.Op {
		case wsconn.OpBinary:
			if len(m.Payload) > c.cfg.MaxFrame {
				return nil, sdkproto.CodeFrameTooLarge
			}
			return m.Payload, 0
		case wsconn.OpPing, wsconn.OpPong:
			continue // the handshake's deadline bounds a flood
		default:
			return nil, sdkproto.CodeBadFrame
		}
	}
}

// readErrCode maps a read or decode error to a close code.
func readErrCode(err error) sdkproto.Code {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return sdkproto.CodeHandshakeTimeout
	case errors.Is(err, wsconn.ErrTooLarge):
		return sdkproto.CodeFrameTooLarge
	default:
		return sdkproto.CodeBadFrame
	}
}

func sendError(conn net.Conn, codec *sdkproto.Codec, code sdkproto.Code) {
	b, err := codec.Seal(nil, &pb.Frame{Body: &pb.Frame_Error{Error: &pb.Error{Code: uint32(code), Message: code.String()}}})
	if err == nil {
		conn.SetWriteDeadline(time.Now().Add(time.Second))      //nolint:errcheck // best effort
		conn.Write(wsconn.AppendFrame(nil, wsconn.OpBinary, b)) //nolint:errcheck // closing anyway
	}
}

func (c *Connector) handleFrame(ctx context.Context, s *session, f *pb.Frame) sdkproto.Code {
	switch b := f.Body.(type) {
	case *pb.Frame_Ping:
		c.m.framesIn.WithLabelValues("ping").Inc()
		s.send(&pb.Frame{Body: &pb.Frame_Pong{Pong: &pb.Pong{TimeMs: b.Ping.TimeMs}}})
	case *pb.Frame_Ack:
		c.m.framesIn.WithLabelValues("ack").Inc()
		c.ack(ctx, s, b.Ack)
	case *pb.Frame_SyncRequest:
		c.m.framesIn.WithLabelValues("sync_request").Inc()
		return c.syncRequest(ctx, s, b.SyncRequest)
	case *pb.Frame_Report:
		c.m.framesIn.WithLabelValues("report").Inc()
		c.report(ctx, s, b.Report)
	default:
		c.m.framesIn.WithLabelValues("unexpected").Inc()
		return sdkproto.CodeUnexpectedFrame
	}
	return 0
}

// ack moves the device's ack watermark and counts the newly acked pushes,
// of its own stream and of the app's broadcast stream.
func (c *Connector) ack(ctx context.Context, s *session, a *pb.Ack) {
	s.mu.Lock()
	epoch, bEpoch, bFrom := s.own.epoch, s.bc.epoch, s.bAcked
	if a.BroadcastEpoch == bEpoch && a.BroadcastSeq > s.bAcked {
		s.bAcked = a.BroadcastSeq
	}
	s.mu.Unlock()
	if a.Epoch == epoch && a.Seq > 0 { // else: a stream this session no longer follows
		if _, err := outcome.Ack(ctx, c.acks(), s.deviceID, a.Seq, time.Now()); err != nil {
			c.log.WarnContext(ctx, "ack failed", "device_id", s.deviceID, "error", err)
		}
	}
	if a.BroadcastEpoch == bEpoch && a.BroadcastSeq > bFrom {
		c.ackBroadcast(ctx, s, bEpoch, bFrom, a.BroadcastSeq)
	}
}

// maxBroadcastAck bounds the broadcast messages one ack is counted for.
const maxBroadcastAck = 1000

// ackBroadcast counts the broadcasts in (from, through] as acked once more.
// Broadcasts have no per-device outcome: their counts are totals.
func (c *Connector) ackBroadcast(ctx context.Context, s *session, epoch, from, through uint64) {
	if ids, ok := c.bcast.lookup(s.appID, epoch, from, through); ok {
		msgs := make([]store.Message, len(ids))
		for i, id := range ids {
			msgs[i].PushID = id
		}
		c.countMessages(ctx, msgs, store.Counts{Acked: 1})
		return
	}
	page, err := c.store.ReadStream(ctx, s.bc.stream, epoch, from, int(min(through-from, maxBroadcastAck)))
	if err != nil {
		c.log.WarnContext(ctx, "broadcast ack read failed", "app_id", s.appID, "error", err)
		return
	}
	msgs := page.Messages[:0]
	for _, m := range page.Messages {
		if m.Seq <= through {
			msgs = append(msgs, m)
		}
	}
	c.countMessages(ctx, msgs, store.Counts{Acked: 1})
}

// syncRequest answers an explicit pull with one page.
func (c *Connector) syncRequest(ctx context.Context, s *session, q *pb.SyncRequest) sdkproto.Code {
	limit := int(q.Limit)
	if limit <= 0 || limit > c.cfg.SyncPage {
		limit = c.cfg.SyncPage
	}
	page, err := c.store.ReadStream(ctx, s.deviceID, q.Epoch, q.Since, limit)
	if err != nil {
		c.log.WarnContext(ctx, "sync read failed", "device_id", s.deviceID, "error", err)
		return sdkproto.CodeInternal
	}
	resp := &pb.SyncResponse{Epoch: page.Epoch, HeadSeq: page.Head, More: page.More, Recovered: page.Recovered}
	for _, m := range page.Messages {
		resp.Pushes = append(resp.Pushes, pushFrame(m, page.Epoch))
	}
	s.send(&pb.Frame{Body: &pb.Frame_SyncResponse{SyncResponse: resp}})
	return 0
}
