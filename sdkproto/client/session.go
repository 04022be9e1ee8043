package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// Run connects and keeps the device connected until ctx ends (then it
// returns nil) or the server refuses the device for good (a code of 4500 or
// more, returned as *sdkproto.PeerError).
func (c *Client) Run(ctx context.Context) error {
	if st := c.State(); st.DeviceID == "" || len(st.Secret) == 0 {
		return ErrNotRegistered
	}
	attempt := 0
	var next *pb.Redirect
	for {
		welcomed, redirect, err := c.session(ctx, next)
		if ctx.Err() != nil {
			return nil
		}
		var pe *sdkproto.PeerError
		if errors.As(err, &pe) && !pe.Code.Retryable() {
			return err
		}
		if welcomed {
			attempt = 0
		}
		next = redirect
		wait := c.backoff(attempt)
		if redirect != nil {
			c.event(Event{Kind: EventRedirected, DeviceID: c.State().DeviceID})
			wait = time.Duration(redirect.DelayMs) * time.Millisecond
			if redirect.JitterMs > 0 {
				wait += rand.N(time.Duration(redirect.JitterMs) * time.Millisecond)
			}
		} else {
			attempt++
		}
		c.event(Event{Kind: EventDisconnected, DeviceID: c.State().DeviceID, Err: err})
		c.log.DebugContext(ctx, "reconnecting", "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// conn is one connected session.
type conn struct {
	ws    *wsConn
	codec *sdkproto.Codec
	wmu   sync.Mutex // serialises sealing and writing
	// idle is how long a read may wait: past it the connection is dead.
	// The server answers every Ping, so a live connection is never silent
	// for long. Zero during the handshake, whose deadline is fixed.
	idle time.Duration
}

func (k *conn) send(f *pb.Frame) error {
	k.wmu.Lock()
	defer k.wmu.Unlock()
	b, err := k.codec.Seal(nil, f)
	if err != nil {
		return err
	}
	k.ws.SetWriteDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // surfaces on write
	return k.ws.WriteMessage(b)
}

// session runs one connection: dial, handshake, read until it ends.
//
// After a session that was welcomed and then dropped, the next one first
// dials the same connector again without asking the dispatcher, naming the
// device in the URL's query (device_id) so that a connector that does not
// own it on its ring refuses the upgrade (421). If that dial fails in any
// way, the session asks the dispatcher at once, as it does after a
// Redirect without a URL, a draining connector (4001) and a failed
// attempt. The connector is part of the State, so that a process that
// starts again from a persisted State dials it first too.
func (c *Client) session(ctx context.Context, via *pb.Redirect) (welcomed bool, redirect *pb.Redirect, err error) {
	st := c.State()
	last := st.Connector
	// Only a session that its connector welcomed, and that did not end
	// with a move (Redirect, 4001, 4009), keeps the connector for the next.
	keep := ""
	defer func() { c.setConnector(keep) }()
	var ws *wsConn
	var hs *clientHello
	if via != nil && via.Url != "" {
		ws, hs, err = c.dial(ctx, []string{via.Url}, st)
	} else if last != "" {
		ws, hs, err = c.dial(ctx, []string{ownerOnly(last, st.DeviceID)}, st)
		if err == nil {
			hs.url = last
		} else if ctx.Err() == nil {
			c.log.DebugContext(ctx, "last connector refused, asking the dispatcher", "url", last, "error", err)
			ws, hs, err = c.dialDispatched(ctx, st)
		}
	} else {
		ws, hs, err = c.dialDispatched(ctx, st)
	}
	if err != nil {
		return false, nil, err
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() {
		ws.writeClose(1000, time.Now().Add(time.Second)) //nolint:errcheck // leaving
		ws.Close()
	})
	defer stop()
	k, hb, err := c.handshake(ws, hs, st)
	if err != nil {
		return false, nil, err
	}
	keep = hs.url
	c.setConnector(keep) // now: the process may end with the session
	c.mu.Lock()
	c.cur = k
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.cur = nil
		c.mu.Unlock()
	}()
	c.event(Event{Kind: EventReady, DeviceID: st.DeviceID})
	stopBeat := heartbeat(hb, func() error {
		return k.send(&pb.Frame{Body: &pb.Frame_Ping{Ping: &pb.Ping{TimeMs: time.Now().UnixMilli()}}})
	})
	defer stopBeat()
	redirect, err = c.readLoop(k)
	var pe *sdkproto.PeerError
	if redirect != nil || (errors.As(err, &pe) && (pe.Code == sdkproto.CodeShutdown || pe.Code == sdkproto.CodeRedirect)) {
		keep = ""
	}
	return true, redirect, err
}

// setConnector records the connector the next session dials first, and
// hands a changed State to OnState.
func (c *Client) setConnector(url string) {
	c.mu.Lock()
	if c.state.Connector == url {
		c.mu.Unlock()
		return
	}
	c.state.Connector = url
	st := c.state
	c.mu.Unlock()
	c.persist(st)
}

// dialDispatched asks the dispatcher for the device's connectors and dials
// them.
func (c *Client) dialDispatched(ctx context.Context, st State) (*wsConn, *clientHello, error) {
	urls, err := c.dispatchBounded(ctx, st.DeviceID)
	if err != nil {
		return nil, nil, err
	}
	return c.dial(ctx, urls, st)
}

// ownerOnly adds the device to a connector URL's query: the connector then
// accepts the upgrade only if it owns the device.
func ownerOnly(connector, deviceID string) string {
	u, err := url.Parse(connector)
	if err != nil {
		return connector // the dial reports it
	}
	q := u.Query()
	q.Set("device_id", deviceID)
	u.RawQuery = q.Encode()
	return u.String()
}

// dial connects to the first of urls that answers. Each attempt offers a
// fresh ClientHello with the upgrade request (sdkproto.EarlyHelloProtocols);
// the handshake sends it again as a message only if the server did not
// take it.
func (c *Client) dial(ctx context.Context, urls []string, st State) (*wsConn, *clientHello, error) {
	var errs []error
	for _, u := range urls {
		hs, ch, err := sdkproto.NewClientHandshake(st.DeviceID, st.Secret)
		if err != nil {
			return nil, nil, err
		}
		dctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
		ws, err := dialWS(dctx, u, sdkproto.EarlyHelloProtocols(ch), c.cfg.NetDialContext, nil)
		cancel()
		if err == nil {
			return ws, &clientHello{hs: hs, msg: ch, sent: ws.Subprotocol() == sdkproto.SubprotocolEarlyHello, url: u}, nil
		}
		errs = append(errs, fmt.Errorf("dial %s: %w", u, err))
	}
	return nil, nil, errors.Join(errs...)
}

// clientHello is the client's side of a handshake begun by dial.
type clientHello struct {
	hs   *sdkproto.ClientHandshake
	msg  []byte
	sent bool   // the server took msg from the upgrade request
	url  string // the connector's URL, as dispatched or redirected to
}

func (c *Client) handshake(ws *wsConn, ch *clientHello, st State) (*conn, time.Duration, error) {
	ws.SetReadDeadline(time.Now().Add(c.cfg.HandshakeTimeout)) //nolint:errcheck // surfaces on read
	if !ch.sent {
		if err := ws.WriteMessage(ch.msg); err != nil {
			return nil, 0, fmt.Errorf("send client hello: %w", err)
		}
	}
	hs := ch.hs
	sh, err := ws.ReadMessage()
	if err != nil {
		return nil, 0, closeErr(err)
	}
	codec, hello, err := hs.Finish(sh, &pb.Hello{Epoch: st.Epoch, LastSeq: st.LastSeq, Sdk: c.cfg.SDK,
		BroadcastEpoch: st.BroadcastEpoch, BroadcastSeq: st.BroadcastSeq})
	if err != nil {
		return nil, 0, err
	}
	if err := ws.WriteMessage(hello); err != nil {
		return nil, 0, fmt.Errorf("send hello: %w", err)
	}
	k := &conn{ws: ws, codec: codec}
	f, err := k.read()
	if err != nil {
		return nil, 0, err
	}
	w := f.GetWelcome()
	if w == nil {
		return nil, 0, fmt.Errorf("%w: expected welcome", sdkproto.ErrBadFrame)
	}
	if err := hs.VerifyWelcome(w); err != nil {
		return nil, 0, err
	}
	hb := time.Duration(w.HeartbeatMs) * time.Millisecond
	if hb <= 0 {
		hb = 25 * time.Second
	}
	k.idle = hb*5/2 + time.Second
	return k, hb, nil
}

// read reads and opens one frame, skipping frame types of newer versions;
// an Error frame becomes *PeerError.
func (k *conn) read() (*pb.Frame, error) {
	for {
		f, err := k.readOne()
		if !errors.Is(err, sdkproto.ErrUnknownFrame) {
			return f, err
		}
	}
}

// readOne reads and opens one frame; a frame type of a newer version is
// sdkproto.ErrUnknownFrame, and an Error frame *PeerError.
func (k *conn) readOne() (*pb.Frame, error) {
	if k.idle > 0 {
		k.ws.SetReadDeadline(time.Now().Add(k.idle)) //nolint:errcheck // surfaces on read
	}
	msg, err := k.ws.ReadMessage()
	if err != nil {
		return nil, closeErr(err)
	}
	f, err := k.codec.Open(msg)
	if err != nil {
		return nil, err
	}
	if e := f.GetError(); e != nil {
		return nil, &sdkproto.PeerError{Code: sdkproto.Code(e.Code), Message: e.Message}
	}
	return f, nil
}

// closeErr turns a close frame with a protocol code into *PeerError.
func closeErr(err error) error {
	var ce *closeError
	if errors.As(err, &ce) && ce.code >= 4000 && ce.code < 5000 {
		return &sdkproto.PeerError{Code: sdkproto.Code(ce.code), Message: strings.TrimSpace(ce.text)}
	}
	return err
}

// heartbeat calls ping every interval until stop is called or a ping
// fails (the read loop then sees the connection fail). The ping runs on the
// timer's own goroutine, which exists only while it runs: an idle session
// holds no goroutine for its heartbeat.
func heartbeat(every time.Duration, ping func() error) (stop func()) {
	var mu sync.Mutex
	stopped := false
	mu.Lock()
	defer mu.Unlock()
	var t *time.Timer
	t = time.AfterFunc(every, func() {
		if ping() != nil {
			return
		}
		mu.Lock()
		if !stopped {
			t.Reset(every)
		}
		mu.Unlock()
	})
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}

// readLoop handles frames until the connection ends. A push or a replay
// page is acknowledged once no other message is already read behind it:
// what arrives together (the initial replay's two pages, overlapping
// broadcasts) takes one cumulative Ack, sent before the loop waits for the
// network again, so no acknowledgement waits on the next frame.
func (c *Client) readLoop(k *conn) (*pb.Redirect, error) {
	ackDue := false
	for {
		f, err := k.readOne()
		if errors.Is(err, sdkproto.ErrUnknownFrame) {
			f, err = &pb.Frame{}, nil // newer frame types are ignored
		}
		if err != nil {
			if ackDue {
				c.ack(k) //nolint:errcheck // the session ends here either way
			}
			return nil, err
		}
		switch b := f.Body.(type) {
		case *pb.Frame_Push:
			c.deliver(b.Push)
			ackDue = true
		case *pb.Frame_SyncResponse:
			c.syncPage(b.SyncResponse)
			ackDue = true // also an empty page: it may move the position to the head
		case *pb.Frame_Redirect:
			if ackDue {
				c.ack(k) //nolint:errcheck // the session ends here either way
			}
			return b.Redirect, nil
		case *pb.Frame_Pong:
		default:
			// Newer frame types are ignored.
		}
		if err == nil && ackDue && !k.ws.MessageReady() {
			ackDue = false
			err = c.ack(k)
		}
		if err != nil {
			return nil, err
		}
	}
}

// syncPage applies one replay page, of the device's stream or of the
// app's broadcast stream. The initial replay sends one of each, the
// device's first: Synced follows the broadcast one. The read loop
// acknowledges the page, with what was read along with it.
func (c *Client) syncPage(r *pb.SyncResponse) {
	c.mu.Lock()
	epoch, _ := c.state.position(r.Broadcast)
	if r.Epoch != *epoch {
		c.resetLocked(r.Broadcast, r.Epoch)
	}
	c.mu.Unlock()
	for _, p := range r.Pushes {
		p.Broadcast = r.Broadcast
		c.deliver(p)
	}
	if !r.More {
		c.mu.Lock()
		_, seq := c.state.position(r.Broadcast)
		if r.HeadSeq > *seq {
			*seq = r.HeadSeq
		}
		if !r.Broadcast {
			c.ownRecovered = r.Recovered
		}
		recovered := c.ownRecovered && r.Recovered
		c.mu.Unlock()
		if r.Broadcast {
			c.event(Event{Kind: EventSynced, DeviceID: c.State().DeviceID, Recovered: recovered})
		}
	}
}

// resetLocked moves a stream position to a new epoch.
func (c *Client) resetLocked(broadcast bool, epoch uint64) {
	e, seq := c.state.position(broadcast)
	*e, *seq = epoch, 0
}

// deliver hands a push to the application unless it was seen already.
func (c *Client) deliver(p *pb.Push) {
	c.mu.Lock()
	epoch, seq := c.state.position(p.Broadcast)
	if p.Epoch != *epoch {
		c.resetLocked(p.Broadcast, p.Epoch)
	}
	if p.Seq <= *seq {
		c.mu.Unlock()
		return
	}
	*seq = p.Seq
	fresh := c.seen.add(p.PushId)
	c.mu.Unlock()
	if !fresh {
		return
	}
	out := Push{ID: p.PushId, Seq: p.Seq, Title: p.Title, Body: p.Body, Data: p.Data,
		SentAt: time.UnixMilli(p.SentAtMs), Broadcast: p.Broadcast}
	if p.ExpiresAtMs != 0 {
		out.ExpiresAt = time.UnixMilli(p.ExpiresAtMs)
	}
	c.cfg.OnPush(out)
}

// ack acknowledges everything up to the last delivered push and persists
// the position.
func (c *Client) ack(k *conn) error {
	st := c.State()
	if st.LastSeq == 0 && st.BroadcastSeq == 0 {
		return nil
	}
	a := &pb.Ack{Seq: st.LastSeq, Epoch: st.Epoch, BroadcastSeq: st.BroadcastSeq, BroadcastEpoch: st.BroadcastEpoch}
	if err := k.send(&pb.Frame{Body: &pb.Frame_Ack{Ack: a}}); err != nil {
		return err
	}
	c.persist(st)
	return nil
}
