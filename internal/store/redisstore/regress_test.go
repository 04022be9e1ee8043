package redisstore

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/storetest"
	"github.com/mopush/mopush/internal/testsrv"
)

// TestStreamThatWentBackGetsANewEpoch restarts a Redis server from a
// snapshot taken before the last two appends to a stream, as a restart
// under appendfsync everysec or a failover to a lagging replica would: the
// stream comes back with its epoch and a lower head. The next append from
// the store that made the lost ones must not number its message as one of
// them under the same epoch, or a device that read the lost messages skips
// it as one it holds.
func TestStreamThatWentBackGetsANewEpoch(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	reg := prometheus.NewRegistry()
	s := openStore(t, Config{Addrs: []string{srv.Addr}, Registerer: reg, Timeout: 2 * time.Second})
	ctx := t.Context()
	// A call after the restart may meet a connection the kill closed; the
	// client dials again.
	retry := func(call func() error) {
		t.Helper()
		testsrv.WaitFor(t, 10*time.Second, func() bool { return call() == nil })
	}
	appendPush := func(dev, push string) store.Position {
		t.Helper()
		var pos []store.Position
		retry(func() (err error) {
			pos, err = s.Append(ctx, []store.Entry{{DeviceID: dev, Message: store.Message{PushID: push}}})
			return err
		})
		return pos[0]
	}
	for _, p := range []string{"p1", "p2", "p3"} {
		appendPush("d", p)
	}
	_, err := s.Advance(ctx, "d", store.MarkAcked, 2)
	require.NoError(t, err)
	rdb := s.shards[0].raw
	require.NoError(t, rdb.Do(ctx, rdb.B().Save().Build()).Error())
	appendPush("d", "p4")
	lost := appendPush("d", "p5") // the device reads p4 and p5
	appendPush("other", "q1")     // a stream made after the snapshot: lost whole
	require.NoError(t, srv.Restart())

	next := appendPush("d", "p6")
	require.NotEqual(t, lost.Epoch, next.Epoch, "a new epoch")
	require.Equal(t, uint64(4), next.Seq, "the numbers go on from the head the shard kept")
	// The device, at p5's position, reads the stream again from its start
	// and gets p6.
	var page store.Page
	retry(func() (err error) {
		page, err = s.ReadStream(ctx, "d", lost.Epoch, lost.Seq, 10)
		return err
	})
	require.False(t, page.Recovered)
	require.Equal(t, next.Epoch, page.Epoch)
	var got []string
	for _, m := range page.Messages {
		got = append(got, m.PushID)
	}
	require.Equal(t, []string{"p1", "p2", "p3", "p6"}, got)
	// What the shard kept stays: the watermarks and the numbers of the
	// messages are those of the same messages.
	var acked uint64
	retry(func() (err error) {
		acked, err = s.Watermark(ctx, "d", store.MarkAcked)
		return err
	})
	require.Equal(t, uint64(2), acked)
	require.Equal(t, 1.0, obstest.Value(t, reg, "push_store_redis_streams_renewed_total",
		map[string]string{"shard": s.Shards()[0]}))

	// Later appends stay in the new epoch, and a stream that lost nothing
	// keeps its own.
	again := appendPush("d", "p7")
	require.Equal(t, store.Position{Epoch: next.Epoch, Seq: 5}, again)
	other := appendPush("other", "q2")
	require.Equal(t, uint64(1), other.Seq, "a stream lost whole starts again, as before")
	require.Equal(t, 1.0, obstest.Value(t, reg, "push_store_redis_streams_renewed_total",
		map[string]string{"shard": s.Shards()[0]}))
}

// TestRenewEpoch: storetest.RenewEpoch, and the renewal is counted.
func TestRenewEpoch(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s := openStore(t, Config{Registerer: reg})
	storetest.RenewEpoch(t, s, "")
	require.Equal(t, 1.0, obstest.Value(t, reg, "push_store_redis_streams_renewed_total",
		map[string]string{"shard": s.Shards()[0]}))
}
