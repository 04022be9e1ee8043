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

// A broadcast offers its message to every session before it starts any
// session's writer: a session whose writer was idle is marked as writing
// and handed back, and its writer starts after the loop. Started one by
// one inside the loop, the writers took the CPU from it.
func TestBroadcastStartsWritersAfterOffering(t *testing.T) {
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
		id, secret := f.device()
		d := f.connect(id, secret)
		d.synced(t)
		devs = append(devs, d)
		s := f.c.hub.get(id)
		require.NotNil(t, s)
		sessions = append(sessions, s)
	}
	idle := func(s *session) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.writing
	}
	for _, s := range sessions {
		for i := 0; i < 1000 && !idle(s); i++ {
			waitUntil(time.Millisecond)
		}
		require.True(t, idle(s), "the writer of a synced session ends")
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
		require.False(t, idle(s), "marked as writing: nothing else starts a second writer")
		s.mu.Lock()
		require.Len(t, s.queue, 1, "the frame waits for the writer")
		s.mu.Unlock()
	}

	startWriters(later)
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
