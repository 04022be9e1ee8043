package node

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/bus"
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
	nats, err := bus.Open(bus.Config{Dir: t.TempDir(), Listen: "127.0.0.1:-1"}, nil)
	require.NoError(t, err)
	t.Cleanup(nats.Close)
	r := testsrv.StartRedis(t)
	mongo := testsrv.StartMongo(t)
	n, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true, Connector: true}},
		clusterConfig(nats.ClientURL(), mongo.URI, []string{r.Addr}))

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

	rdb, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{r.Addr}, DisableCache: true})
	require.NoError(t, err)
	require.NoError(t, rdb.Do(context.Background(), rdb.B().Save().Build()).Error())
	rdb.Close()
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
