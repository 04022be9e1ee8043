package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
	"github.com/mopush/mopush/internal/store/storetest"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

type fixture struct {
	t     *testing.T
	c     *Connector
	st    *pebblestore.Store
	url   string
	cfg   Config
	close func()
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	c, st, url := startConnector(t, cfg)
	return &fixture{t: t, c: c, st: st, url: url, cfg: cfg}
}

// startConnector runs a connector with cfg on a store of its own behind a
// test server, until the test's cleanup; it returns the URL devices
// connect to.
func startConnector(tb testing.TB, cfg Config) (*Connector, *pebblestore.Store, string) {
	tb.Helper()
	c, st, url, _ := serveConnector(tb, cfg, nil, nil)
	return c, st, url
}

// serveConnector is startConnector with the ring's ownership owns (nil:
// every device) and metrics on reg (may be nil), behind a listener that
// counts the server's writes. Device connects are read by the connector's
// own listener (Split), as in a node.
func serveConnector(tb testing.TB, cfg Config, owns Owner, reg prometheus.Registerer) (*Connector, *pebblestore.Store, string, *countingListener) {
	tb.Helper()
	return serveConnectorVia(tb, cfg, owns, reg, true)
}

// serveConnectorVia is serveConnector, with device connects read by the
// HTTP server (ServeHTTP) unless split.
func serveConnectorVia(tb testing.TB, cfg Config, owns Owner, reg prometheus.Registerer, split bool) (*Connector, *pebblestore.Store, string, *countingListener) {
	tb.Helper()
	return serveConnectorOn(tb, cfg, owns, reg, split, nil)
}

// serveConnectorOn is serveConnectorVia with the connector's store wrapped
// by wrap, unless it is nil.
func serveConnectorOn(tb testing.TB, cfg Config, owns Owner, reg prometheus.Registerer, split bool,
	wrap func(*pebblestore.Store) Store) (*Connector, *pebblestore.Store, string, *countingListener) {
	tb.Helper()
	st, err := pebblestore.Open(pebblestore.Config{Dir: tb.TempDir()})
	require.NoError(tb, err)
	var cs Store = st
	if wrap != nil {
		cs = wrap(st)
	}
	c := New(cfg, cs, owns, nil, reg)
	srv := httptest.NewUnstartedServer(c)
	l := &countingListener{Listener: srv.Listener, accepted: make(chan *atomic.Int64, 16)}
	srv.Listener = l
	if split {
		srv.Listener = c.Split(l)
	}
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	tb.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		st.Close()
	})
	return c, st, "ws" + strings.TrimPrefix(srv.URL, "http") + Path, l
}

func (f *fixture) device() (string, []byte) {
	f.t.Helper()
	id, secret := ids.New(), ids.Secret(32)
	require.NoError(f.t, f.st.PutDevice(context.Background(), &store.Device{ID: id, AppID: "app", Secret: secret}))
	return id, secret
}

func (f *fixture) dial() *websocket.Conn {
	f.t.Helper()
	d := websocket.Dialer{Subprotocols: []string{sdkproto.Subprotocol}}
	ws, _, err := d.Dial(f.url, nil)
	require.NoError(f.t, err)
	f.t.Cleanup(func() { ws.Close() })
	return ws
}

// session is a hand-driven device connection.
type rawSession struct {
	ws    *websocket.Conn
	codec *sdkproto.Codec
}

// connect runs the handshake and reads the Welcome.
func (f *fixture) connect(id string, secret []byte) *rawSession {
	f.t.Helper()
	ws, codec, hs := clientConnect(f.t, f.url, id, secret, false)
	f.t.Cleanup(func() { ws.Close() })
	s := &rawSession{ws: ws, codec: codec}
	fr := s.read(f.t)
	require.NotNil(f.t, fr.GetWelcome())
	require.NoError(f.t, hs.VerifyWelcome(fr.GetWelcome()))
	return s
}

func (s *rawSession) read(t testing.TB) *pb.Frame {
	t.Helper()
	s.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := s.ws.ReadMessage()
	require.NoError(t, err)
	fr, err := s.codec.Open(msg)
	require.NoError(t, err)
	return fr
}

// synced reads the initial replay: a page of the device's stream, then one
// of the app's broadcast stream.
func (s *rawSession) synced(t testing.TB) {
	t.Helper()
	own := s.read(t).GetSyncResponse()
	require.NotNil(t, own)
	require.False(t, own.Broadcast)
	bc := s.read(t).GetSyncResponse()
	require.NotNil(t, bc)
	require.True(t, bc.Broadcast)
}

// nextPush reads until a push arrives, live or in a catch-up page.
func (s *rawSession) nextPush(t *testing.T) *pb.Push {
	t.Helper()
	for {
		fr := s.read(t)
		if p := fr.GetPush(); p != nil {
			return p
		}
		if ps := fr.GetSyncResponse().GetPushes(); len(ps) > 0 {
			return ps[0]
		}
	}
}

func (s *rawSession) send(t *testing.T, fr *pb.Frame) []byte {
	t.Helper()
	b, err := s.codec.Seal(nil, fr)
	require.NoError(t, err)
	require.NoError(t, s.ws.WriteMessage(websocket.BinaryMessage, b))
	return b
}

// closeCode reads until the connection closes and returns the close code,
// skipping other messages (an Error frame may come first).
func closeCode(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("connection ended without a close frame: %v", err)
	}
}

func TestSocketBadInput(t *testing.T) {
	f := newFixture(t, Config{HandshakeTimeout: 300 * time.Millisecond, MaxFrame: 8 << 10})
	goodID, goodSecret := f.device()
	good := f.connect(goodID, goodSecret)

	t.Run("garbage first message", func(t *testing.T) {
		ws := f.dial()
		require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, []byte("\xff\x00garbage")))
		require.Equal(t, int(sdkproto.CodeBadFrame), closeCode(t, ws))
	})
	t.Run("text message", func(t *testing.T) {
		ws := f.dial()
		require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("hello")))
		require.Equal(t, int(sdkproto.CodeBadFrame), closeCode(t, ws))
	})
	t.Run("frame before handshake", func(t *testing.T) {
		ws := f.dial()
		b, err := proto.Marshal(&pb.Frame{Body: &pb.Frame_Ping{Ping: &pb.Ping{TimeMs: 1}}})
		require.NoError(t, err)
		require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, b))
		require.Equal(t, int(sdkproto.CodeBadFrame), closeCode(t, ws))
	})
	t.Run("handshake timeout", func(t *testing.T) {
		ws := f.dial()
		require.Equal(t, int(sdkproto.CodeHandshakeTimeout), closeCode(t, ws))
	})
	t.Run("wrong proof", func(t *testing.T) {
		ws := f.dial()
		hs, ch, err := sdkproto.NewClientHandshake(goodID, ids.Secret(32))
		require.NoError(t, err)
		require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, ch))
		_, sh, err := ws.ReadMessage()
		require.NoError(t, err)
		codec, hello, err := hs.Finish(sh, &pb.Hello{})
		require.NoError(t, err)
		require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, hello))
		_, msg, err := ws.ReadMessage()
		require.NoError(t, err)
		fr, err := codec.Open(msg)
		require.NoError(t, err)
		require.EqualValues(t, sdkproto.CodeAuthFailed, fr.GetError().GetCode())
		require.Equal(t, int(sdkproto.CodeAuthFailed), closeCode(t, ws))
	})
	t.Run("unknown device", func(t *testing.T) {
		ws := f.dial()
		hs, ch, err := sdkproto.NewClientHandshake("no-such-device", ids.Secret(32))
		require.NoError(t, err)
		require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, ch))
		_, sh, err := ws.ReadMessage()
		require.NoError(t, err)
		_, hello, err := hs.Finish(sh, &pb.Hello{})
		require.NoError(t, err)
		require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, hello))
		require.Equal(t, int(sdkproto.CodeAuthFailed), closeCode(t, ws))
	})
	t.Run("replayed frame", func(t *testing.T) {
		id, secret := f.device()
		s := f.connect(id, secret)
		s.synced(t)
		b := s.send(t, &pb.Frame{Body: &pb.Frame_Ping{Ping: &pb.Ping{TimeMs: 7}}})
		require.Equal(t, int64(7), s.read(t).GetPong().GetTimeMs())
		require.NoError(t, s.ws.WriteMessage(websocket.BinaryMessage, b))
		require.Equal(t, int(sdkproto.CodeReplay), closeCode(t, s.ws))
	})
	t.Run("tampered frame", func(t *testing.T) {
		id, secret := f.device()
		s := f.connect(id, secret)
		b, err := s.codec.Seal(nil, &pb.Frame{Body: &pb.Frame_Ping{Ping: &pb.Ping{}}})
		require.NoError(t, err)
		b[len(b)-1] ^= 1
		require.NoError(t, s.ws.WriteMessage(websocket.BinaryMessage, b))
		require.Equal(t, int(sdkproto.CodeBadFrame), closeCode(t, s.ws))
	})
	t.Run("oversized frame", func(t *testing.T) {
		id, secret := f.device()
		s := f.connect(id, secret)
		require.NoError(t, s.ws.WriteMessage(websocket.BinaryMessage, make([]byte, 9<<10)))
		require.Equal(t, int(sdkproto.CodeFrameTooLarge), closeCode(t, s.ws))
	})
	t.Run("unexpected frame", func(t *testing.T) {
		id, secret := f.device()
		s := f.connect(id, secret)
		s.send(t, &pb.Frame{Body: &pb.Frame_Welcome{Welcome: &pb.Welcome{}}})
		require.Equal(t, int(sdkproto.CodeUnexpectedFrame), closeCode(t, s.ws))
	})

	// The connector kept serving the device that behaved.
	good.synced(t)
	msg := store.Message{PushID: "p1", Title: "still", Body: "here", SentAt: time.Now()}
	res, err := f.c.Deliver(context.Background(), route.Batch{Message: msg, DeviceIDs: []string{goodID}})
	require.NoError(t, err)
	require.Equal(t, route.Written, res[0].Status)
	p := good.nextPush(t)
	require.Equal(t, "p1", p.GetPushId())
	require.EqualValues(t, 1, p.GetSeq())
}

func TestSlowConsumerIsDisconnected(t *testing.T) {
	f := newFixture(t, Config{SendQueue: 4})
	slowID, slowSecret := f.device()
	slow := f.connect(slowID, slowSecret)
	fastID, fastSecret := f.device()
	fast := f.connect(fastID, fastSecret)
	fast.synced(t)

	// The slow device never reads: its socket buffers fill, then its queue.
	big := strings.Repeat("x", 3000)
	closed := false
	for i := 0; i < 5000 && !closed; i++ {
		msg := store.Message{PushID: ids.New(), Body: big, SentAt: time.Now()}
		_, err := f.c.Deliver(context.Background(), route.Batch{Message: msg, DeviceIDs: []string{slowID}})
		require.NoError(t, err)
		closed = f.c.hub.get(slowID) == nil
		if i%50 == 49 && !closed {
			// Give the writer a moment to block on the full socket.
			waitUntil(time.Millisecond * 20)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.c.hub.get(slowID) != nil && time.Now().Before(deadline) {
		waitUntil(5 * time.Millisecond)
	}
	require.Nil(t, f.c.hub.get(slowID), "slow session closed")
	_ = slow

	// Others are unaffected.
	res, err := f.c.Deliver(context.Background(), route.Batch{Message: store.Message{PushID: "after", Body: "b"}, DeviceIDs: []string{fastID}})
	require.NoError(t, err)
	require.Equal(t, route.Written, res[0].Status)
	require.Equal(t, "after", fast.nextPush(t).GetPushId())
}

// A device that stops reading, with room left in its queue, is closed when
// a write has waited WriteTimeout on its full socket.
func TestStuckDeviceTimesOut(t *testing.T) {
	f := newFixture(t, Config{SendQueue: 1 << 20, WriteTimeout: 200 * time.Millisecond})
	stuckID, stuckSecret := f.device()
	stuck := f.connect(stuckID, stuckSecret)
	stuck.synced(t)

	big := strings.Repeat("x", 3000)
	for i := 0; i < 5000 && f.c.hub.get(stuckID) != nil; i++ {
		msg := store.Message{PushID: ids.New(), Body: big, SentAt: time.Now()}
		_, err := f.c.Deliver(context.Background(), route.Batch{Message: msg, DeviceIDs: []string{stuckID}})
		require.NoError(t, err)
		if i%50 == 49 {
			waitUntil(20 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.c.hub.get(stuckID) != nil && time.Now().Before(deadline) {
		waitUntil(5 * time.Millisecond)
	}
	require.Nil(t, f.c.hub.get(stuckID), "stuck session closed")
}

func TestReplacedSession(t *testing.T) {
	f := newFixture(t, Config{})
	id, secret := f.device()
	first := f.connect(id, secret)
	second := f.connect(id, secret)
	require.Equal(t, int(sdkproto.CodeReplaced), closeCode(t, first.ws))
	second.synced(t)
}

func TestDrainRedirects(t *testing.T) {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	defer st.Close()
	c := New(Config{DrainJitter: time.Millisecond}, st, nil, nil, nil)
	srv := httptest.NewServer(c)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	f := &fixture{t: t, c: c, st: st, url: "ws" + strings.TrimPrefix(srv.URL, "http") + Path}
	id, secret := f.device()
	s := f.connect(id, secret)
	s.synced(t)
	cancel()
	require.NotNil(t, s.read(t).GetRedirect())
	require.Equal(t, int(sdkproto.CodeShutdown), closeCode(t, s.ws))
	<-done
}

// waitUntil pauses the load loop briefly; it never decides a test outcome.
func waitUntil(d time.Duration) { <-time.After(d) }

// One Ack acknowledges every live push up to its seq: the SDK sends one
// for the pushes it read together.
func TestOneAckCoversEarlierPushes(t *testing.T) {
	f := newFixture(t, Config{})
	id, secret := f.device()
	dev := f.connect(id, secret)
	dev.synced(t)
	ctx := context.Background()
	var last *pb.Push
	for _, pid := range []string{"p1", "p2", "p3"} {
		_, err := f.c.Deliver(ctx, route.Batch{Message: store.Message{PushID: pid, Body: "b", SentAt: time.Now()}, DeviceIDs: []string{id}})
		require.NoError(t, err)
		last = dev.nextPush(t)
		require.Equal(t, pid, last.GetPushId())
	}
	require.Equal(t, uint64(3), last.GetSeq())

	dev.send(t, &pb.Frame{Body: &pb.Frame_Ack{Ack: &pb.Ack{Seq: 2, Epoch: last.GetEpoch()}}})
	// The watermark moves first, then each message it covers is recorded.
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, err := f.st.OutcomeOf(ctx, id, 2)
		require.NoError(t, err)
		if o != store.OutcomeNone || time.Now().After(deadline) {
			break
		}
		waitUntil(5 * time.Millisecond)
	}
	mark, err := f.st.Watermark(ctx, id, store.MarkAcked)
	require.NoError(t, err)
	require.Equal(t, uint64(2), mark)
	for seq, want := range map[uint64]store.Outcome{1: store.OutcomeAcked, 2: store.OutcomeAcked, 3: store.OutcomeNone} {
		got, err := f.st.OutcomeOf(ctx, id, seq)
		require.NoError(t, err)
		require.Equal(t, want, got, "seq %d", seq)
	}
}

// Counts for a push whose record is gone are dropped without a warning;
// those of a stored push are written.
func TestCountsOfAPushNoLongerStored(t *testing.T) {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	var logs strings.Builder
	c := New(Config{}, st, nil, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
	ctx := context.Background()
	kept := &store.Push{ID: ids.New(), AppID: "app", CreatedAt: time.Now(), State: store.PushPending}
	_, err = st.CreatePush(ctx, kept, "")
	require.NoError(t, err)

	c.countMessages(ctx, []store.Message{{PushID: kept.ID}, {PushID: "gone"}}, store.Counts{Delivered: 1})
	c.sums.Flush(ctx)
	p, err := st.Push(ctx, kept.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), p.Counts.Delivered)
	require.Contains(t, logs.String(), "level=DEBUG msg=\"count update for a push no longer stored\"")
	require.NotContains(t, logs.String(), "level=WARN")
}

// Counts that the store refuses wait for the next flush: an outage delays
// them and loses none, the acknowledgements' included.
func TestCountsWaitWhileTheStoreRefusesThem(t *testing.T) {
	pst, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { pst.Close() })
	st := &storetest.RefusingCounts{Store: pst}
	reg := prometheus.NewRegistry()
	c := New(Config{}, st, nil, nil, reg)
	ctx := context.Background()
	p := &store.Push{ID: ids.New(), AppID: "app", CreatedAt: time.Now(), State: store.PushPending}
	_, err = st.CreatePush(ctx, p, "")
	require.NoError(t, err)
	pos, err := st.Append(ctx, []store.Entry{{DeviceID: "dev", Message: store.Message{PushID: p.ID}}})
	require.NoError(t, err)
	counts := func() store.Counts {
		got, err := st.Push(ctx, p.ID)
		require.NoError(t, err)
		return got.Counts
	}

	st.Refuse.Store(true)
	c.countMessages(ctx, []store.Message{{PushID: p.ID}}, store.Counts{Delivered: 1})
	n, err := outcome.Ack(ctx, c.acks(), "dev", pos[0].Seq, time.Now())
	require.NoError(t, err, "the acknowledgement's counter update waits in memory")
	require.Equal(t, 1, n)
	c.sums.Flush(ctx)
	c.sums.Flush(ctx)
	require.Equal(t, store.Counts{}, counts(), "nothing written while refused")

	st.Refuse.Store(false)
	c.sums.Flush(ctx)
	require.Equal(t, store.Counts{Delivered: 1, Acked: 1}, counts(), "written once, after the outage")
	c.sums.Flush(ctx)
	require.Equal(t, store.Counts{Delivered: 1, Acked: 1}, counts(), "not twice")
	require.Zero(t, obstest.Value(t, reg, "push_connector_counts_dropped_total", nil))
}

// Beyond outcome.MaxPendingSums pushes, refused counts are dropped and
// counted.
func TestRefusedCountsAreBounded(t *testing.T) {
	pst, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { pst.Close() })
	st := &storetest.RefusingCounts{Store: pst}
	st.Refuse.Store(true)
	reg := prometheus.NewRegistry()
	c := New(Config{}, st, nil, nil, reg)
	ctx := context.Background()
	msgs := make([]store.Message, outcome.MaxPendingSums+10)
	for i := range msgs {
		msgs[i].PushID = fmt.Sprint("p", i)
	}
	c.countMessages(ctx, msgs, store.Counts{Delivered: 1})
	c.sums.Flush(ctx)
	require.Equal(t, outcome.MaxPendingSums, c.sums.Len())
	require.Equal(t, 10.0, obstest.Value(t, reg, "push_connector_counts_dropped_total", nil))
}

// A SyncRequest is answered with one page of the device's stream after
// since: at most limit pushes (0 or more than the page size: the page
// size), with more set while pushes remain, and from the oldest one with
// recovered false when the epoch is not the stream's (protocol 9.5).
func TestSyncRequestAnswersOnePage(t *testing.T) {
	f := newFixture(t, Config{SyncPage: 2})
	id, secret := f.device()
	dev := f.connect(id, secret)
	dev.synced(t)
	ctx := context.Background()
	var epoch uint64
	for _, pid := range []string{"p1", "p2", "p3"} {
		_, err := f.c.Deliver(ctx, route.Batch{Message: store.Message{PushID: pid, Body: "b", SentAt: time.Now()}, DeviceIDs: []string{id}})
		require.NoError(t, err)
		epoch = dev.nextPush(t).GetEpoch()
	}
	seqs := func(r *pb.SyncResponse) []uint64 {
		var out []uint64
		for _, p := range r.GetPushes() {
			require.Equal(t, r.GetEpoch(), p.GetEpoch())
			out = append(out, p.GetSeq())
		}
		return out
	}
	ask := func(q *pb.SyncRequest) *pb.SyncResponse {
		t.Helper()
		dev.send(t, &pb.Frame{Body: &pb.Frame_SyncRequest{SyncRequest: q}})
		r := dev.read(t).GetSyncResponse()
		require.NotNil(t, r)
		require.False(t, r.GetBroadcast())
		require.Equal(t, uint64(3), r.GetHeadSeq())
		return r
	}

	r := ask(&pb.SyncRequest{Epoch: epoch, Since: 1, Limit: 1})
	require.Equal(t, []uint64{2}, seqs(r))
	require.True(t, r.GetMore())
	require.True(t, r.GetRecovered())

	r = ask(&pb.SyncRequest{Epoch: epoch, Since: 2})
	require.Equal(t, []uint64{3}, seqs(r))
	require.False(t, r.GetMore())

	// A limit over the page size gets the page size.
	r = ask(&pb.SyncRequest{Epoch: epoch, Since: 0, Limit: 50})
	require.Equal(t, []uint64{1, 2}, seqs(r))
	require.True(t, r.GetMore())

	// Nothing after the head.
	r = ask(&pb.SyncRequest{Epoch: epoch, Since: 3})
	require.Empty(t, r.GetPushes())
	require.False(t, r.GetMore())

	// Another epoch: the stream's epoch, from its oldest message.
	r = ask(&pb.SyncRequest{Epoch: epoch + 1, Since: 2, Limit: 10})
	require.Equal(t, epoch, r.GetEpoch())
	require.False(t, r.GetRecovered())
	require.Equal(t, []uint64{1, 2}, seqs(r))
	require.Equal(t, "p1", r.GetPushes()[0].GetPushId())
}
