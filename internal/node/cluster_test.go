package node

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/connector"
	"github.com/mopush/mopush/internal/bus"
	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/testsrv"
	"github.com/mopush/mopush/internal/testsrv/aerofake"
)

// clusterConfig points a node at shared NATS, Redis shards and MongoDB.
func clusterConfig(natsURL, mongoURI string, redis []string) func(*config.Config) {
	return func(c *config.Config) {
		c.Bus.URL = natsURL
		c.Store.Backend = "cluster"
		c.Store.Mongo = mongoURI
		c.Store.Redis = redis
		c.Server.InternalToken = "cluster-test-internal-token"
	}
}

// startCluster starts what the roles of a cluster share: NATS, one Redis
// shard and a MongoDB-protocol server; it returns the configuration that
// points a node at them.
func startCluster(t *testing.T) func(*config.Config) {
	t.Helper()
	cluster, _ := startClusterRedis(t)
	return cluster
}

// onBothStores runs f on the embedded store (cluster nil) and, unless
// the tests are short, on the clustered one (cluster sets it up: Redis, a
// MongoDB-protocol server and NATS of the test's own).
func onBothStores(t *testing.T, f func(t *testing.T, cluster func(*config.Config))) {
	t.Run("embedded", func(t *testing.T) { f(t, nil) })
	t.Run("clusters", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts Redis and a MongoDB-protocol server")
		}
		f(t, startCluster(t))
	})
}

// startClusterRedis is startCluster that also returns the Redis shard, for
// a test that restarts it.
func startClusterRedis(t *testing.T) (func(*config.Config), *testsrv.Redis) {
	t.Helper()
	nats, err := bus.Open(bus.Config{Dir: t.TempDir(), Listen: "127.0.0.1:-1"}, nil)
	require.NoError(t, err)
	t.Cleanup(nats.Close)
	r1 := testsrv.StartRedis(t)
	mongo := testsrv.StartMongo(t)
	return clusterConfig(nats.ClientURL(), mongo.URI, []string{r1.Addr}), r1
}

// TestRolesApartOnClusters runs the gateway (with the relay) and two
// connectors as separate nodes on shared NATS, two Redis shards and a
// MongoDB-protocol server, and pushes through them.
func TestRolesApartOnClusters(t *testing.T) {
	rolesApartOnClusters(t, nil)
}

// TestRolesApartOnClustersWithAerospike is the same with device state,
// streams and outcomes in Aerospike, here an in-memory server that speaks
// its protocol.
func TestRolesApartOnClustersWithAerospike(t *testing.T) {
	srv, err := aerofake.Start(aerofake.Config{Namespaces: []string{"mopush"}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	rolesApartOnClusters(t, func(c *config.Config) {
		c.Store.Aerospike = []string{srv.Addr()}
		c.Store.AerospikeNamespace = "mopush"
	})
}

// rolesApartOnClusters is TestRolesApartOnClusters with the store's
// configuration changed by mutate (when not nil).
func rolesApartOnClusters(t *testing.T, mutate func(*config.Config)) {
	nats, err := bus.Open(bus.Config{Dir: t.TempDir(), Listen: "127.0.0.1:-1"}, nil)
	require.NoError(t, err)
	t.Cleanup(nats.Close)
	r1, r2 := testsrv.StartRedis(t), testsrv.StartRedis(t)
	mongo := testsrv.StartMongo(t)
	cluster := clusterConfig(nats.ClientURL(), mongo.URI, []string{r1.Addr, r2.Addr})
	shared := func(c *config.Config) {
		cluster(c)
		if mutate != nil {
			mutate(c)
		}
	}

	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true, Relay: true}}, shared)
	c1, _ := startNodeWith(t, Options{Roles: Roles{Connector: true}}, shared)
	c2, _ := startNodeWith(t, Options{Roles: Roles{Connector: true}}, shared)
	waitFor(t, 20*time.Second, "both connectors on the gateway's ring", func() bool { return gw.members.Ring().Len() == 2 })

	a := api{t: t, base: gw.URL()}
	app := a.createApp(gw.AdminToken(), "cluster")
	ds, ids := readyDevices(t, gw.URL(), app.key, 8)
	require.Positive(t, c1.Connectors()[0].Sessions()+c2.Connectors()[0].Sessions())
	require.Equal(t, len(ds), c1.Connectors()[0].Sessions()+c2.Connectors()[0].Sessions())

	id := a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("across", "processes")})
	for _, d := range ds {
		waitFor(t, 20*time.Second, "push received", func() bool { return len(d.got()) == 1 })
		require.Equal(t, id, d.got()[0].ID)
	}
	waitFor(t, 20*time.Second, "acked and delivered", func() bool {
		c := a.counts(app, id)
		return c["acked"] == float64(len(ds)) && c["delivered"] == float64(len(ds))
	})

	// Tag pushes need a store that lists devices by tag: MongoDB does,
	// Aerospike does not, and the gateway says so at once.
	var probe config.Config
	shared(&probe)
	code, out, _ := a.do(http.MethodPost, "/v1/pushes", app.key, app.secret, map[string]any{
		"audience": map[string]any{"tags": []string{"nobody"}}, "notification": notification("to", "a tag")}, nil)
	if len(probe.Store.Aerospike) > 0 {
		require.Equal(t, http.StatusNotImplemented, code, "%v", out)
		require.Equal(t, "https://mopush.dev/problems/tags-unsupported", out["type"])
	} else {
		require.Equal(t, http.StatusAccepted, code, "%v", out)
	}

	// A report through a connector node reaches the gateway node, which
	// registered the device and read (and cached) it when it checked the
	// push's targets.
	require.NoError(t, ds[1].c.Report(connector.ReportDeviceInfo, "", map[string]string{"token.apns": "apns-tok", "locale": "de-DE"}))
	waitFor(t, 20*time.Second, "report visible on the gateway node", func() bool {
		devs, err := gw.store.Devices(context.Background(), []string{ds[1].id()})
		return err == nil && devs[0] != nil && devs[0].Tokens["apns"] == "apns-tok" && devs[0].Locale == "de-DE"
	})

	st := ds[0].stop()
	later := a.push(app, map[string]any{"audience": toDevices(st.DeviceID), "notification": notification("while", "away")})
	back := newDevice(t, gw.URL(), app.key, st)
	back.start()
	back.waitReady()
	waitFor(t, 20*time.Second, "caught up from the stream", func() bool { return len(back.got()) == 1 })
	require.Equal(t, later, back.got()[0].ID)
	for _, d := range append(ds[1:], back) {
		d.stop()
	}
}

// TestClusterUnreachableFailsFast: a role pointed at a store it cannot
// reach stops at once and names it.
func TestClusterUnreachableFailsFast(t *testing.T) {
	nats, err := bus.Open(bus.Config{Dir: t.TempDir(), Listen: "127.0.0.1:-1"}, nil)
	require.NoError(t, err)
	t.Cleanup(nats.Close)
	mongo := testsrv.StartMongo(t)
	cfg, err := config.Load("", nil)
	require.NoError(t, err)
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Server.DataDir = t.TempDir()
	clusterConfig(nats.ClientURL(), mongo.URI, []string{"127.0.0.1:1"})(&cfg)
	start := time.Now()
	_, err = New(cfg, Options{Roles: Roles{Gateway: true}})
	require.ErrorContains(t, err, "store.redis")
	t.Logf("failed after %v: %v", time.Since(start), err)

	cfg.Store.Mongo = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500"
	_, err = New(cfg, Options{Roles: Roles{Gateway: true}})
	require.ErrorContains(t, err, "store.mongo")
}

// TestConnectorLeavesOnClusters stops one of two connector nodes, as a
// rolling restart does: its devices are redirected, come back on the
// connector the ring now gives them, and a push to every device reaches
// each of them once, acknowledged.
func TestConnectorLeavesOnClusters(t *testing.T) {
	shared := startCluster(t)

	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true}}, shared)
	c1, _ := startNodeWith(t, Options{Roles: Roles{Connector: true}}, shared)
	c2, stopC2 := startNodeWith(t, Options{Roles: Roles{Connector: true}}, shared)
	waitFor(t, 20*time.Second, "both connectors on the gateway's ring", func() bool { return gw.members.Ring().Len() == 2 })

	a := api{t: t, base: gw.URL()}
	app := a.createApp(gw.AdminToken(), "leave")
	ds, ids := readyDevices(t, gw.URL(), app.key, 12)
	onC2 := c2.Connectors()[0].Sessions()
	require.Positive(t, onC2, "some devices on the connector that leaves")
	require.Equal(t, len(ds), c1.Connectors()[0].Sessions()+onC2)

	stopC2()
	waitFor(t, 20*time.Second, "one connector left on the ring", func() bool { return gw.members.Ring().Len() == 1 })
	waitFor(t, 30*time.Second, "every device back on the remaining connector", func() bool {
		return c1.Connectors()[0].Sessions() == len(ds)
	})

	id := a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("after", "the move")})
	waitEachGot(t, ds, id)
	waitFor(t, 20*time.Second, "acked and delivered", func() bool {
		c := a.counts(app, id)
		return c["acked"] == float64(len(ds)) && c["delivered"] == float64(len(ds))
	})
	c := a.counts(app, id)
	require.Zero(t, c["failed"])
	require.Zero(t, c["offline"])
	requireEachOnce(t, ds, id)
}

// readyDevices registers n devices of the app (aliases u0, u1, …), starts
// them and waits until each has synced; it returns them and their ids.
func readyDevices(t *testing.T, base, appKey string, n int) ([]*device, []string) {
	t.Helper()
	ds := make([]*device, n)
	ids := make([]string, n)
	for i := range ds {
		ds[i] = newDevice(t, base, appKey, client0())
		ds[i].register(fmt.Sprintf("u%d", i))
		ds[i].start()
		ids[i] = ds[i].id()
	}
	for _, d := range ds {
		d.waitReady()
	}
	return ds, ids
}
