package connector

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto/pb"
)

// A device whose Ack was lost with its last connection says what it holds
// in its next Hello: the connector records that position as acknowledged,
// but only for the stream's current epoch, whose numbers the Hello's
// position names.
func TestHelloPositionIsAnAck(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	c, st, url, _ := serveConnector(t, Config{}, nil, reg)
	id, secret := ids.New(), ids.Secret(32)
	require.NoError(t, st.PutDevice(ctx, &store.Device{ID: id, AppID: "app", Secret: secret}))
	var epoch uint64
	for _, pid := range []string{"p1", "p2", "p3"} {
		res, err := c.Deliver(ctx, route.Batch{Message: store.Message{PushID: pid, Body: "b"}, DeviceIDs: []string{id}})
		require.NoError(t, err)
		epoch = res[0].Epoch
	}

	// connect runs a session with the Hello's position, reads its replay
	// and one answer to a SyncRequest (written after the replay's work is
	// done), and returns the seqs replayed.
	connect := func(helloEpoch, lastSeq uint64) []uint64 {
		t.Helper()
		ws, codec, _ := clientConnectWith(t, url, id, secret, false, &pb.Hello{Epoch: helloEpoch, LastSeq: lastSeq})
		defer ws.Close()
		s := &rawSession{ws: ws, codec: codec}
		require.NotNil(t, s.read(t).GetWelcome())
		own := s.read(t).GetSyncResponse()
		require.NotNil(t, own)
		require.True(t, s.read(t).GetSyncResponse().GetBroadcast())
		s.send(t, &pb.Frame{Body: &pb.Frame_SyncRequest{SyncRequest: &pb.SyncRequest{Epoch: epoch, Since: 3}}})
		require.NotNil(t, s.read(t).GetSyncResponse())
		var seqs []uint64
		for _, p := range own.GetPushes() {
			seqs = append(seqs, p.GetSeq())
		}
		return seqs
	}
	acked := func() uint64 {
		w, err := st.Watermark(ctx, id, store.MarkAcked)
		require.NoError(t, err)
		return w
	}

	// Another epoch's position acknowledges nothing of this one.
	require.Equal(t, []uint64{1, 2, 3}, connect(epoch+1, 3))
	require.Zero(t, acked())

	require.Equal(t, []uint64{3}, connect(epoch, 2))
	require.EqualValues(t, 2, acked())
	for seq, want := range map[uint64]store.Outcome{1: store.OutcomeAcked, 2: store.OutcomeAcked, 3: store.OutcomeNone} {
		o, err := st.OutcomeOf(ctx, id, seq)
		require.NoError(t, err)
		require.Equal(t, want, o, "seq %d", seq)
	}
	require.Equal(t, 2.0, obstest.Value(t, reg, "push_connector_hello_acks_total", nil))

	// A position already acknowledged changes nothing.
	require.Equal(t, []uint64{3}, connect(epoch, 2))
	require.Equal(t, 2.0, obstest.Value(t, reg, "push_connector_hello_acks_total", nil))
}
