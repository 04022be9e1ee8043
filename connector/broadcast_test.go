package connector

import (
	"context"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto/pb"
)

// A device that stops reading while broadcasts go out fills its socket; its
// writer then waits on the socket and later broadcasts queue behind it.
// When the device reads again it gets every broadcast, once and in order.
func TestBroadcastsToAFullSocketArriveInOrder(t *testing.T) {
	const n = 2000
	f := newFixture(t, Config{SendQueue: 4 * n, WriteTimeout: time.Minute})
	id, secret := f.device()
	dev := f.connect(id, secret)
	dev.synced(t)
	other, otherSecret := f.device()
	fast := f.connect(other, otherSecret)
	fast.synced(t)

	// The first device does not read while 6 MB of broadcasts go out.
	ctx := context.Background()
	body := strings.Repeat("b", 3000)
	for range n {
		msg := store.Message{PushID: ids.New(), Body: body, SentAt: time.Now()}
		pos, err := f.st.Append(ctx, []store.Entry{{DeviceID: store.BroadcastStream("app"), Message: msg}})
		require.NoError(t, err)
		msg.Seq = pos[0].Seq
		res, err := f.c.Broadcast(ctx, route.Broadcast{AppID: "app", Message: msg, Epoch: pos[0].Epoch})
		require.NoError(t, err)
		require.Equal(t, 2, res.Written)
		if msg.Seq%100 == 0 {
			// The other device reads along, so it is never the full one.
			fast.pushesUpTo(t, msg.Seq)
		}
	}
	s := f.c.hub.get(id)
	require.NotNil(t, s)
	s.mu.Lock()
	backlog := s.writing || len(s.queue) > 0
	s.mu.Unlock()
	require.True(t, backlog, "the socket never filled: the test did not reach a blocked writer")

	got := dev.pushesUpTo(t, n)
	require.Len(t, got, n)
	for i, seq := range got {
		require.Equal(t, uint64(i+1), seq, "broadcast %d", i)
	}
}

// pushesUpTo reads broadcasts, live or in catch-up pages, until the one
// with sequence number last, and returns their sequence numbers in the
// order they came.
func (s *rawSession) pushesUpTo(t *testing.T, last uint64) []uint64 {
	t.Helper()
	var seqs []uint64
	for len(seqs) == 0 || seqs[len(seqs)-1] < last {
		fr := s.read(t)
		if p := fr.GetPush(); p != nil {
			seqs = append(seqs, p.Seq)
		}
		for _, p := range fr.GetSyncResponse().GetPushes() {
			seqs = append(seqs, p.Seq)
		}
	}
	return seqs
}

// A broadcast offers its message to every session before it writes to any:
// a session whose writer was idle is marked as writing and handed back,
// and is written to after the loop. Started one by one inside the loop, the
// writers took the CPU from it. After the loop the frames are written on
// the broadcast's own goroutine: writeOut returns with every session done.
func TestBroadcastWritesAfterOffering(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	appendBroadcast := func() (store.Message, uint64) {
		msg := store.Message{PushID: ids.New(), Body: "all", SentAt: time.Now()}
		pos, err := f.st.Append(ctx, []store.Entry{{DeviceID: store.BroadcastStream("app"), Message: msg}})
		require.NoError(t, err)
		msg.Seq = pos[0].Seq
		return msg, pos[0].Epoch
	}
	appendBroadcast() // the stream exists before the devices come: they start at its head

	var devs []*rawSession
	var sessions []*session
	for range 3 {
		d, s := f.syncedIdle(t)
		devs = append(devs, d)
		sessions = append(sessions, s)
	}

	msg, epoch := appendBroadcast()
	p := pushFrame(msg, epoch)
	p.Broadcast = true
	frame, err := proto.Marshal(&pb.Frame{Body: &pb.Frame_Push{Push: p}})
	require.NoError(t, err)
	var later []*session
	for _, s := range sessions {
		require.Equal(t, offerQueued, s.offerBroadcast(msg.Seq, epoch, frame, &later))
	}
	require.ElementsMatch(t, sessions, later, "every idle writer is left to the caller")
	for _, s := range sessions {
		require.False(t, idleOf(s), "marked as writing: nothing else starts a second writer")
		s.mu.Lock()
		require.Len(t, s.queue, 1, "the frame waits for the writer")
		s.mu.Unlock()
	}

	writeOut(later)
	for _, s := range sessions {
		require.True(t, idleOf(s), "written on the broadcast's goroutine, with no writer left to run")
	}
	for _, d := range devs {
		require.Equal(t, []uint64{msg.Seq}, d.pushesUpTo(t, msg.Seq))
	}
}

// The first message of a stream that did not exist when a session read it
// goes out live, not through a catch-up from the store: the client takes
// the new epoch from the push. This holds for the device's own stream and
// for the app's broadcast stream.
func TestFirstMessageOfANewStreamGoesOutLive(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	id, secret := f.device()
	dev := f.connect(id, secret)
	dev.synced(t) // neither stream exists yet

	msg := store.Message{PushID: ids.New(), Title: "own", SentAt: time.Now()}
	res, err := f.c.Deliver(ctx, route.Batch{Message: msg, DeviceIDs: []string{id}})
	require.NoError(t, err)
	require.Equal(t, route.Written, res[0].Status)
	p := dev.read(t).GetPush()
	require.NotNil(t, p, "a live push, not a catch-up page")
	require.Equal(t, uint64(1), p.Seq)
	require.NotZero(t, p.Epoch)
	require.False(t, p.Broadcast)

	bmsg := store.Message{PushID: ids.New(), Title: "all", SentAt: time.Now()}
	pos, err := f.st.Append(ctx, []store.Entry{{DeviceID: store.BroadcastStream("app"), Message: bmsg}})
	require.NoError(t, err)
	bmsg.Seq = pos[0].Seq
	_, err = f.c.Broadcast(ctx, route.Broadcast{AppID: "app", Message: bmsg, Epoch: pos[0].Epoch})
	require.NoError(t, err)
	bp := dev.read(t).GetPush()
	require.NotNil(t, bp, "a live broadcast, not a catch-up page")
	require.Equal(t, uint64(1), bp.Seq)
	require.Equal(t, pos[0].Epoch, bp.Epoch)
	require.True(t, bp.Broadcast)

	require.Zero(t, catchUps(t, f.c, "own"))
	require.Zero(t, catchUps(t, f.c, "broadcast"))

	s := f.c.hub.get(id)
	require.NotNil(t, s)
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Equal(t, p.Epoch, s.own.epoch, "acks of the new epoch are taken")
	require.Equal(t, pos[0].Epoch, s.bc.epoch)
}

// A message a live session cannot take in order (here the one before it
// was appended behind the connector's back) is read from the store, and
// the catch-up is counted.
func TestCatchUpOfALiveSessionIsCounted(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	id, secret := f.device()
	dev := f.connect(id, secret)
	dev.synced(t)

	_, err := f.st.Append(ctx, []store.Entry{{DeviceID: id, Message: store.Message{PushID: ids.New(), Title: "1", SentAt: time.Now()}}})
	require.NoError(t, err)
	res, err := f.c.Deliver(ctx, route.Batch{Message: store.Message{PushID: ids.New(), Title: "2", SentAt: time.Now()}, DeviceIDs: []string{id}})
	require.NoError(t, err)
	require.Equal(t, route.Written, res[0].Status)
	page := dev.read(t).GetSyncResponse()
	require.NotNil(t, page, "a catch-up page, not a live push")
	require.Len(t, page.Pushes, 2)
	require.Equal(t, 1.0, catchUps(t, f.c, "own"))
	require.Zero(t, catchUps(t, f.c, "broadcast"))
}

// catchUps reads the connector's count of catch-ups of one stream.
func catchUps(t *testing.T, c *Connector, stream string) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.m.catchUps.WithLabelValues(stream).Write(&m))
	return m.GetCounter().GetValue()
}

// When the socket does not take all of what writeQueuedNow sealed, the
// rest goes to the session's writer, which writes it before anything it
// seals itself: the device gets every frame, once and in order, and each
// opens with the next nonce.
func TestWriteQueuedNowLeavesTheRestToTheWriter(t *testing.T) {
	f := newFixture(t, Config{SendQueue: 1 << 16, WriteTimeout: time.Minute})
	dev, s := f.syncedIdle(t)

	// The device does not read: batches of 60 KB go out until the socket
	// takes only part of one (at most 64 MB).
	body := strings.Repeat("q", 3000)
	seq := uint64(0)
	var buf []byte
	full := false
	for range 1100 {
		var frames [][]byte
		for range 20 {
			seq++
			p := pushFrame(store.Message{PushID: ids.New(), Body: body, Seq: seq, SentAt: time.Now()}, 1)
			p.Broadcast = true
			fr, err := proto.Marshal(&pb.Frame{Body: &pb.Frame_Push{Push: p}})
			require.NoError(t, err)
			frames = append(frames, fr)
		}
		s.mu.Lock()
		require.False(t, s.writing)
		s.writing = true
		s.queue = frames
		s.mu.Unlock()
		if !s.writeQueuedNow(&buf) {
			full = true
			break
		}
		done, _ := s.doneWriting()
		require.True(t, done, "nothing else to write")
	}
	require.True(t, full, "the socket never filled")
	require.NotEmpty(t, s.unsent, "the part the socket did not take is left to the writer")

	// More frames queue behind the unsent bytes; the writer writes both.
	for range 5 {
		seq++
		p := pushFrame(store.Message{PushID: ids.New(), Body: "after", Seq: seq, SentAt: time.Now()}, 1)
		p.Broadcast = true
		fr, err := proto.Marshal(&pb.Frame{Body: &pb.Frame_Push{Push: p}})
		require.NoError(t, err)
		s.mu.Lock()
		s.queue = append(s.queue, fr)
		s.mu.Unlock()
	}
	s.c.writers.start(s.writer)
	got := dev.pushesUpTo(t, seq)
	require.Len(t, got, int(seq))
	for i, q := range got {
		require.Equal(t, uint64(i+1), q, "frame %d", i)
	}
	waitIdle(t, s, "the writer ends once everything is written")
}

// A delivery to a device whose writer is idle writes the push, and records
// it as sent, on the delivering goroutine: when Deliver returns the device
// has its frame on the socket, the sent watermark is at its sequence
// number, and the session is idle again.
func TestDeliverWritesOnItsOwnGoroutine(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	dev, s := f.syncedIdle(t)
	id := s.deviceID

	for n := uint64(1); n <= 3; n++ {
		msg := store.Message{PushID: ids.New(), Title: "own", SentAt: time.Now()}
		res, err := f.c.Deliver(ctx, route.Batch{Message: msg, DeviceIDs: []string{id}})
		require.NoError(t, err)
		require.Equal(t, route.Written, res[0].Status)
		require.Equal(t, n, res[0].Seq)
		require.True(t, idleOf(s), "no writer left to run")
		sent, err := f.st.Watermark(ctx, id, store.MarkSent)
		require.NoError(t, err)
		require.Equal(t, n, sent, "recorded as sent before Deliver returned")
		p := dev.read(t).GetPush()
		require.NotNil(t, p)
		require.Equal(t, n, p.Seq)
	}
}

// idleOf reports whether no writer runs for s.
func idleOf(s *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.writing
}

// waitIdle waits until no writer runs for s.
func waitIdle(t *testing.T, s *session, msg string) {
	t.Helper()
	for i := 0; i < 1000 && !idleOf(s); i++ {
		waitUntil(time.Millisecond)
	}
	require.True(t, idleOf(s), msg)
}

// syncedIdle connects a new device and returns it and its session once the
// session's initial writer has ended.
func (f *fixture) syncedIdle(t *testing.T) (*rawSession, *session) {
	t.Helper()
	id, secret := f.device()
	dev := f.connect(id, secret)
	dev.synced(t)
	s := f.c.hub.get(id)
	require.NotNil(t, s)
	waitIdle(t, s, "the writer of a synced session ends")
	return dev, s
}
