package node

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/testsrv"
)

// TestStreamShardLosesItsNewestWrites restarts the Redis shard that holds
// a live device's stream from a snapshot taken before its last two
// messages, as a restart under appendfsync everysec or a failover to a
// lagging replica does. The stream comes back with its epoch and a lower
// head. Before, the next push took the number of a lost message the device
// had read, and the connector and the device passed it over as one they
// had: the device never got it. Now the stream goes on under a new epoch,
// and the device gets the next push, once.
func TestStreamShardLosesItsNewestWrites(t *testing.T) {
	cluster, r := startClusterRedis(t)
	n, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true, Connector: true}}, cluster)

	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "lost-tail")
	ds, ids := readyDevices(t, n.URL(), app.key, 1)
	d := ds[0]
	push := func(title string) string {
		id := a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification(title, "")})
		waitEachGot(t, ds, id)
		return id
	}
	kept := []string{push("p1"), push("p2")}

	snapshot(t, r)
	lost := []string{push("p3"), push("p4")}
	before := d.c.State()
	require.Equal(t, uint64(4), before.LastSeq)
	require.NoError(t, r.Restart()) // from the snapshot: the stream's head is 2

	after := a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("p5", "")})
	waitEachGot(t, ds, after)
	st := d.c.State()
	require.NotEqual(t, before.Epoch, st.Epoch, "the device follows the stream's new epoch")
	for _, id := range append(append(kept, lost...), after) {
		require.Equal(t, 1, d.gotCount(id), "push %s once", id)
	}
	require.Contains(t, metricLine(t, n.URL(), "push_store_redis_streams_renewed_total"), " 1")

	next := push("p6")
	require.Equal(t, 1, d.gotCount(next))
	waitFor(t, 20*time.Second, "the last push acknowledged", func() bool { return a.counts(app, next)["acked"] == 1 })
	requireEachOnce(t, ds, next)
}

// TestStreamLossFoundByTheRelay is the case the connector cannot see: the
// Redis shard and the connector both restart, so no node remembers how far
// the stream had come, and the device is away. The next pushes take the
// lost messages' numbers in the same epoch; the device, back, would take
// them for the lost ones it holds. The relay's checks of the lost messages
// find other pushes at their positions, and move the stream to a new epoch,
// so the device reads it all again and gets the pushes it missed, once.
func TestStreamLossFoundByTheRelay(t *testing.T) {
	cluster, r := startClusterRedis(t)
	const ackTimeout = 3 * time.Second
	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true, Relay: true}}, func(c *config.Config) {
		cluster(c)
		c.Relay.AckTimeout = ackTimeout
	})
	_, stopC1 := startNodeWith(t, Options{Roles: Roles{Connector: true}}, cluster)
	waitFor(t, 20*time.Second, "the connector on the ring", func() bool { return gw.members.Ring().Len() == 1 })

	a := api{t: t, base: gw.URL()}
	app := a.createApp(gw.AdminToken(), "relay-finds-loss")
	ds, ids := readyDevices(t, gw.URL(), app.key, 1)
	push := func(title string) string {
		return a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification(title, "")})
	}
	kept := []string{push("p1"), push("p2")}
	waitEachGot(t, ds, kept[1])
	snapshot(t, r)
	lost := []string{push("p3"), push("p4")}
	waitEachGot(t, ds, lost[1])
	st := ds[0].stop()
	require.Equal(t, uint64(4), st.LastSeq)
	restartWithTheShard(t, gw, stopC1, r, cluster, ids[0]) // the stream's head is 2 again
	// Sent while the device is away: they take numbers 3 and 4 in the
	// stream's old epoch, those of p3 and p4.
	missed := []string{push("p5"), push("p6")}
	waitFor(t, 20*time.Second, "both stored", func() bool {
		return a.state(app, missed[1]) == "done" && a.counts(app, missed[1])["offline"] == 1
	})
	// The checks of p3 and p4 come due after the ack timeout and find p5
	// and p6 at their positions.
	waitFor(t, 4*ackTimeout, "the stream moved to a new epoch", func() bool {
		return strings.HasSuffix(metricLine(t, gw.URL(), "push_store_redis_streams_renewed_total"), " 1")
	})

	back := newDevice(t, gw.URL(), app.key, st)
	back.start()
	back.waitReady()
	waitEachGot(t, []*device{back}, missed[1])
	require.NotEqual(t, st.Epoch, back.c.State().Epoch)
	for _, id := range missed {
		require.Equal(t, 1, back.gotCount(id), "push %s once", id)
	}
	// The stream is read again from its oldest message: a client that
	// started afresh, with no memory of the pushes it handed over, gets the
	// kept ones again (at least once, with recovered false); the lost ones
	// are no longer in the stream.
	for _, id := range kept {
		require.LessOrEqual(t, back.gotCount(id), 1, "push %s", id)
	}
	for _, id := range lost {
		require.Zero(t, back.gotCount(id), "push %s", id)
	}
	back.stop()
}

// TestStreamLossSeenInAHello: the Redis shard restarts from a snapshot
// while the device is away, and the device comes back first. Its Hello
// names a position past the stream's head in the stream's epoch, which only
// a stream that lost messages can show. Before, the replay kept the
// device's position, and the next pushes, numbered as the lost ones, were
// passed over. Now the connector moves the stream to a new epoch, the device
// reads it again, and gets the next push once.
//   - own stream, connector restarted too: the device's word is enough for
//     its own stream.
//   - broadcast stream, connector kept: the connector saw the stream reach
//     the device's position, and renews it.
//   - broadcast stream, connector restarted: one device's word does not
//     renew the stream every device of the app reads; the gateway, which
//     appended the lost broadcast, renews it with the next one.
func TestStreamLossSeenInAHello(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		broadcast, restartConnector bool
	}{
		{"own", false, true},
		{"broadcast", true, false},
		{"broadcast/connector restarted", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) { streamLossSeenInAHello(t, tc.broadcast, tc.restartConnector) })
	}
}

func streamLossSeenInAHello(t *testing.T, broadcast, restartConnector bool) {
	cluster, r := startClusterRedis(t)
	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true}}, cluster)
	c, stopC := startNodeWith(t, Options{Roles: Roles{Connector: true}}, cluster)
	waitFor(t, 20*time.Second, "the connector on the ring", func() bool { return gw.members.Ring().Len() == 1 })

	a := api{t: t, base: gw.URL()}
	app := a.createApp(gw.AdminToken(), "hello-finds-loss")
	ds, ids := readyDevices(t, gw.URL(), app.key, 1)
	audience := toDevices(ids...)
	if broadcast {
		audience = map[string]any{"broadcast": true}
	}
	push := func(title string) string {
		return a.push(app, map[string]any{"audience": audience, "notification": notification(title, "")})
	}
	position := func(d *device) uint64 {
		st := d.c.State()
		if broadcast {
			return st.BroadcastEpoch
		}
		return st.Epoch
	}
	waitEachGot(t, ds, push("p1"))
	snapshot(t, r)
	waitEachGot(t, ds, push("p2"))
	was := position(ds[0])
	st := ds[0].stop()
	if restartConnector {
		c = restartWithTheShard(t, gw, stopC, r, cluster, ids[0]) // the stream's head is 1 again
	} else {
		require.NoError(t, r.Restart())
	}

	back := newDevice(t, gw.URL(), app.key, st)
	back.start()
	back.waitReady()
	renewer := c
	if broadcast && restartConnector {
		require.Equal(t, was, position(back), "not renewed on the device's word")
		renewer = gw
	} else {
		require.NotEqual(t, was, position(back), "the device follows the stream's new epoch")
	}
	next := push("p3") // number 2 in the stream, as p2 was
	waitEachGot(t, []*device{back}, next)
	require.Equal(t, 1, back.gotCount(next))
	require.NotEqual(t, was, position(back), "the device follows the stream's new epoch")
	require.Contains(t, metricLine(t, renewer.URL(), "push_store_redis_streams_renewed_total"), " 1")
	back.stop()
}

// restartWithTheShard stops a connector node, restarts the Redis shard
// from its snapshot, and starts a new connector node, which remembers
// nothing of the streams; it returns once the new one owns the device.
func restartWithTheShard(t *testing.T, gw *Node, stop func(), r *testsrv.Redis, cluster func(*config.Config), deviceID string) *Node {
	t.Helper()
	stop()
	require.NoError(t, r.Restart())
	c, _ := startNodeWith(t, Options{Roles: Roles{Connector: true}}, cluster)
	waitFor(t, 20*time.Second, "the new connector alone on the ring", func() bool {
		owner, ok := gw.members.Ring().Owner(deviceID)
		return ok && gw.members.Ring().Len() == 1 && owner.ID == c.Connectors()[0].NodeID()
	})
	return c
}

// snapshot has the Redis server write its data to disk now, so that a
// restart comes back to this point.
func snapshot(t *testing.T, r *testsrv.Redis) {
	t.Helper()
	rdb, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{r.Addr}, DisableCache: true})
	require.NoError(t, err)
	defer rdb.Close()
	require.NoError(t, rdb.Do(context.Background(), rdb.B().Save().Build()).Error())
}

// TestMixedTrafficAcrossAStreamShardLoss runs the mixed traffic on a
// cluster whose Redis shard restarts, in the middle of it, from a snapshot
// taken a moment before: what was appended in between is lost from the
// streams, while pushes, broadcasts and device restarts go on. Nothing may
// be passed over:
//   - every message a device's stream holds at the end, and every broadcast
//     the app's stream holds, was read by the device (in one of its lives);
//   - every unicast push addressed to a device was read by it, or its
//     target ended with an outcome: the relay's check found the message
//     gone and relayed it (no_channel here: the devices have no vendor
//     token).
//
// Reading a push twice is allowed here: a device reads its renewed stream
// again, and a new life of it has no memory of what the last one read.
func TestMixedTrafficAcrossAStreamShardLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a Redis shard in the middle of mixed traffic")
	}
	cluster, r := startClusterRedis(t)
	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true, Relay: true}}, func(c *config.Config) {
		cluster(c)
		c.Relay.AckTimeout = time.Second
	})
	c1, _ := startNodeWith(t, Options{Roles: Roles{Connector: true}}, cluster)
	c2, _ := startNodeWith(t, Options{Roles: Roles{Connector: true}}, cluster)
	waitFor(t, 20*time.Second, "both connectors on the gateway's ring", func() bool { return gw.members.Ring().Len() == 2 })
	rdb, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{r.Addr}, DisableCache: true})
	require.NoError(t, err)
	defer rdb.Close()

	a := api{t: t, base: gw.URL()}
	app := a.createApp(gw.AdminToken(), "mixed-shard-loss")
	tr := sendMixed(t, a, app, mixed{
		devices: 10, pushers: 2, perPusher: 40, broadcasts: 10, restarts: 8, maxAudience: 4,
		event: func() {
			time.Sleep(60 * time.Millisecond) // most devices' streams exist by then
			if err := rdb.Do(context.Background(), rdb.B().Save().Build()).Error(); err != nil {
				t.Errorf("snapshot: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
			if err := r.Restart(); err != nil {
				t.Errorf("restart redis: %v", err)
			}
		},
	})

	ctx := context.Background()
	read := func(i int) map[string]bool {
		got := map[string]bool{}
		for _, p := range tr.slots[i].all() {
			got[p.ID] = true
		}
		return got
	}
	// stored returns the push ids a stream holds.
	stored := func(stream string) []string {
		var ids []string
		retry(t, func() error {
			page, err := gw.store.ReadStream(ctx, stream, 0, 0, 1000)
			ids = ids[:0]
			for _, m := range page.Messages {
				ids = append(ids, m.PushID)
			}
			return err
		})
		return ids
	}
	bcasts := stored(store.BroadcastStream(app.id))
	for i := range tr.slots {
		own := stored(tr.ids[i])
		waitFor(t, 30*time.Second, fmt.Sprintf("device %d read what its streams hold", i), func() bool {
			got := read(i)
			for _, id := range append(own, bcasts...) {
				if !got[id] {
					return false
				}
			}
			return true
		})
		for id := range tr.want[i] {
			waitFor(t, 30*time.Second, fmt.Sprintf("push %s read by device %d, or relayed", id, i), func() bool {
				if read(i)[id] {
					return true
				}
				o, err := outcome.Of(ctx, gw.store, outcome.Target{DeviceID: tr.ids[i], PushID: id})
				return err == nil && o != store.OutcomeNone
			})
		}
	}
	renewed := 0.0
	for _, n := range []*Node{gw, c1, c2} {
		renewed += obstest.Value(t, n.reg, "push_store_redis_streams_renewed_total", nil)
	}
	gone := obstest.Value(t, gw.reg, "push_relay_messages_gone_total", nil)
	t.Logf("streams renewed: %v; fallback checks that found their message gone: %v; broadcasts in the stream: %d of %d",
		renewed, gone, len(bcasts), len(tr.bcasts))
	// The other tests of this file each force one way of finding a loss;
	// here it is enough that the shard lost something.
	require.Positive(t, renewed+gone, "the shard lost appended messages")
	for _, s := range tr.slots {
		s.d.stop()
	}
}

// retry calls call until it succeeds: a call after a Redis restart may meet
// a connection the restart closed.
func retry(t *testing.T, call func() error) {
	t.Helper()
	waitFor(t, 10*time.Second, "a call that succeeds", func() bool { return call() == nil })
}
