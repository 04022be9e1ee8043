package node

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/crashtest"
	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/sdkproto/client"
)

// asRole makes the test binary run a node of one role ("connector" or
// "gateway") configured from MOPUSH_* variables, so that a test can kill
// it as a crash does, or stop and continue it.
const asRole = "MOPUSH_NODE_TEST_AS_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(asRole); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

// runChild runs a node of role until the process is killed; it writes
// "ready URL" to stdout once the node serves.
func runChild(role string) int {
	cfg, err := config.Load("", os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	roles := Roles{Connector: role == "connector", Gateway: role == "gateway"}
	n, err := New(cfg, Options{Roles: roles})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(context.Background()) }()
	for !n.Ready() {
		select {
		case err := <-done:
			fmt.Fprintln(os.Stderr, "node stopped:", err)
			return 1
		case <-time.After(10 * time.Millisecond):
		}
	}
	fmt.Println("ready", n.URL())
	fmt.Fprintln(os.Stderr, "node stopped:", <-done)
	return 1
}

// startNodeProcess starts a node of role in a process of its own on the
// cluster of env (MOPUSH_* settings) and returns it and its URL once it
// serves.
func startNodeProcess(t *testing.T, role string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// env comes last, so that it may set the address or the data
	// directory too.
	cmd.Env = append(os.Environ(), "MOPUSH_SERVER_LISTEN=127.0.0.1:0", "MOPUSH_SERVER_DATA_DIR="+t.TempDir(),
		"MOPUSH_LOG_LEVEL=warn", asRole+"="+role)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ready:
		url, ok := strings.CutPrefix(line, "ready ")
		require.True(t, ok, "%s process did not start", role)
		return cmd, url
	case <-time.After(60 * time.Second):
		t.Fatalf("%s process not ready", role)
		return nil, ""
	}
}

// kill ends a node process as a crash does.
func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
}

// TestConnectorCrashOnClusters kills one of two connector processes with
// SIGKILL: no drain, and its registration stays on the ring until it
// expires. A push to every device, sent at once, loses nothing: the
// gateway finds the dead connector unreachable and gives its devices'
// message to the next ring node, where they reconnect; each device gets
// the push once and acknowledges it.
func TestConnectorCrashOnClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a connector process")
	}
	shared := startCluster(t)

	reg := prometheus.NewRegistry()
	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true}, Registry: reg}, shared)
	c1, _ := startNodeWith(t, Options{Roles: Roles{Connector: true}}, shared)
	child, _ := startNodeProcess(t, "connector", clusterEnv(shared)...)
	waitFor(t, 20*time.Second, "both connectors on the gateway's ring", func() bool { return gw.members.Ring().Len() == 2 })

	a := api{t: t, base: gw.URL()}
	app := a.createApp(gw.AdminToken(), "crash")
	ds, ids := readyDevices(t, gw.URL(), app.key, 12)
	onChild := len(ds) - c1.Connectors()[0].Sessions()
	require.Positive(t, onChild, "some devices on the connector that crashes")

	kill(t, child)
	require.Equal(t, 2, gw.members.Ring().Len(), "the dead connector is still on the ring")
	id := a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("after", "the crash")})
	waitEachGot(t, ds, id)
	waitFor(t, 20*time.Second, "acked", func() bool { return a.counts(app, id)["acked"] == float64(len(ds)) })
	c := a.counts(app, id)
	require.Zero(t, c["failed"])
	require.Equal(t, float64(onChild), obstest.Value(t, reg, "push_gateway_route_fallbacks_total", map[string]string{"to": "connector"}),
		"the dead connector's devices went to the next ring node")
	require.Zero(t, obstest.Value(t, reg, "push_gateway_route_fallbacks_total", map[string]string{"to": "store"}))
	requireEachOnce(t, ds, id)

	// The gateway's dispatcher lists the connector its routing passes over
	// last, so a device reconnecting dials a live one first.
	dead := ""
	for _, n := range gw.members.Ring().Nodes() {
		if n.ID != c1.Connectors()[0].NodeID() {
			dead = n.ID
		}
	}
	owned := ""
	for _, d := range ids {
		if o, _ := gw.members.Ring().Owner(d); o.ID == dead {
			owned = d
		}
	}
	require.NotEmpty(t, owned, "a device owned by the dead connector")
	requireDownLast(t, a, app, gw, dead, owned)
}

// requireDownLast checks that /v1/dispatch names node dead last for
// deviceID while the gateway passes it over. The mark lasts 2 s from the
// last failed call, so a push renews it; an answer counts only when the mark
// held both before and after it.
func requireDownLast(t *testing.T, a api, app appCreds, gw *Node, dead, deviceID string) {
	t.Helper()
	for range 5 {
		a.push(app, map[string]any{"audience": toDevices(deviceID), "notification": notification("renew", "the mark")})
		waitFor(t, 20*time.Second, "the dead connector marked down", func() bool { return gw.gateway.Down(dead) })
		code, body, _ := a.do(http.MethodGet, "/v1/dispatch?device_id="+deviceID, "", "", nil, nil)
		if !gw.gateway.Down(dead) {
			continue // the mark ran out meanwhile: the answer proves nothing
		}
		require.Equal(t, http.StatusOK, code, "%v", body)
		require.NotEqual(t, dead, body["node_id"], "the owner that is down is not offered first")
		fbs, _ := body["fallbacks"].([]any)
		require.NotEmpty(t, fbs)
		last, _ := fbs[len(fbs)-1].(map[string]any)
		require.Equal(t, dead, last["node_id"], "the owner that is down is offered last: %v", body)
		return
	}
	t.Fatal("the down mark never held through one dispatch request")
}

// TestOnlyConnectorCrashOnClusters kills the only connector: no node can
// take the push, so the gateway appends it to the devices' streams itself
// (offline, not failed), and the devices get it from there when they come
// back on a new connector.
func TestOnlyConnectorCrashOnClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a connector process")
	}
	shared := startCluster(t)

	reg := prometheus.NewRegistry()
	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true}, Registry: reg}, shared)
	child, _ := startNodeProcess(t, "connector", clusterEnv(shared)...)
	waitFor(t, 20*time.Second, "the connector on the gateway's ring", func() bool { return gw.members.Ring().Len() == 1 })

	a := api{t: t, base: gw.URL()}
	app := a.createApp(gw.AdminToken(), "crash")
	ds, ids := readyDevices(t, gw.URL(), app.key, 4)

	kill(t, child)
	id := a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("nobody", "home")})
	waitFor(t, 20*time.Second, "routed", func() bool { return a.counts(app, id)["offline"] == float64(len(ds)) })
	require.Zero(t, a.counts(app, id)["failed"])
	require.Equal(t, float64(len(ds)), obstest.Value(t, reg, "push_gateway_route_fallbacks_total", map[string]string{"to": "store"}))

	startNodeWith(t, Options{Roles: Roles{Connector: true}}, shared)
	waitEachGot(t, ds, id)
	waitFor(t, 20*time.Second, "acked", func() bool { return a.counts(app, id)["acked"] == float64(len(ds)) })
	requireEachOnce(t, ds, id)
}

// clusterEnv gives the settings that mutate makes as MOPUSH_* variables,
// for a node in a process of its own.
func clusterEnv(mutate func(*config.Config)) []string {
	c := config.Default()
	mutate(&c)
	return []string{
		"MOPUSH_BUS_URL=" + c.Bus.URL, "MOPUSH_STORE_BACKEND=" + c.Store.Backend,
		"MOPUSH_STORE_MONGO=" + c.Store.Mongo, "MOPUSH_STORE_REDIS=" + strings.Join(c.Store.Redis, ","),
		"MOPUSH_SERVER_INTERNAL_TOKEN=" + c.Server.InternalToken,
	}
}

// TestGatewayCrashOnClusters kills the gateway process (SIGKILL) while the
// pushes it accepted wait to be routed, held there by a connector process
// that is stopped (SIGSTOP). A new gateway routes them when it starts, and
// every device gets every push once, although the connector, continued,
// also takes the batches the dead gateway had sent it: the SDK drops the
// second copy by its push id.
func TestGatewayCrashOnClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns node processes")
	}
	const admin = "cluster-test-admin-token"
	cluster := startCluster(t)
	shared := func(c *config.Config) {
		cluster(c)
		c.Gateway.AdminToken = admin
	}
	env := append(clusterEnv(shared), "MOPUSH_GATEWAY_ADMIN_TOKEN="+admin)

	conn, connURL := startNodeProcess(t, "connector", env...)
	gw, gwURL := startNodeProcess(t, "gateway", env...)
	a := api{t: t, base: gwURL}
	app := a.createApp(admin, "gateway-crash")
	ds, ids := readyDevices(t, gwURL, app.key, 3)
	states := make([]client.State, len(ds))
	for i, d := range ds {
		states[i] = d.stop()
	}

	require.NoError(t, conn.Process.Signal(syscall.SIGSTOP))
	pushes := make([]string, 4)
	for i := range pushes {
		pushes[i] = a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("held", fmt.Sprint(i))})
	}
	for _, id := range pushes {
		require.Equal(t, "pending", a.state(app, id), "routing waits on the stopped connector")
	}
	kill(t, gw)
	require.NoError(t, conn.Process.Signal(syscall.SIGCONT))

	gw2, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true}}, shared)
	a.base = gw2.URL()
	for _, id := range pushes {
		waitFor(t, 30*time.Second, "routed by the new gateway", func() bool { return a.state(app, id) == "done" })
	}
	back := make([]*device, len(ds))
	for i, st := range states {
		back[i] = newDevice(t, gw2.URL(), app.key, st)
		back[i].start()
	}
	for _, id := range pushes {
		waitEachGot(t, back, id)
		waitFor(t, 20*time.Second, "acked and delivered", func() bool {
			c := a.counts(app, id)
			return c["acked"] == float64(len(back)) && c["delivered"] == float64(len(back))
		})
	}
	for _, d := range back {
		for _, id := range pushes {
			require.Equal(t, 1, d.gotCount(id), "device %s got push %s once", d.id(), id)
		}
		d.stop()
	}
	// Each target counts once, although the continued connector may have
	// taken the dead gateway's batches: the new gateway's are retries.
	for _, id := range pushes {
		c := a.counts(app, id)
		require.Equal(t, float64(len(back)), c["acked"], "push %s", id)
		require.Equal(t, float64(len(back)), c["delivered"], "push %s", id)
		require.Zero(t, c["failed"])
	}
	t.Logf("repeats the connector skipped: %s", metricLine(t, connURL, "push_connector_repeats_skipped_total"))
}

// metricLine returns the first sample line of metric name at base's
// /metrics.
func metricLine(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), name) {
			return sc.Text()
		}
	}
	return "none"
}

// TestTwoGatewaysShareAStore runs two gateways on one cluster, one of them
// sweeping pending pushes every 20 ms, and pushes through both: a sweep
// must not route a push the other gateway is routing, so every device gets
// every push once and each push counts each target once.
func TestTwoGatewaysShareAStore(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster of three nodes")
	}
	shared := startCluster(t)
	const admin = "cluster-test-admin-token"
	withAdmin := func(c *config.Config) {
		shared(c)
		c.Gateway.AdminToken = admin
	}
	gwA, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true}}, withAdmin)
	gwB, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true}}, func(c *config.Config) {
		withAdmin(c)
		c.Gateway.ResumeInterval = 20 * time.Millisecond
	})
	startNodeWith(t, Options{Roles: Roles{Connector: true}}, shared)
	waitFor(t, 20*time.Second, "the connector on both rings", func() bool {
		return gwA.members.Ring().Len() == 1 && gwB.members.Ring().Len() == 1
	})

	apis := []api{{t: t, base: gwA.URL()}, {t: t, base: gwB.URL()}}
	app := apis[0].createApp(admin, "two-gateways")
	ds, ids := readyDevices(t, gwA.URL(), app.key, 4)
	pushes := make([]string, 40)
	for i := range pushes {
		pushes[i] = apis[i%2].push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("n", fmt.Sprint(i))})
	}
	for _, id := range pushes {
		waitEachGot(t, ds, id)
		waitFor(t, 20*time.Second, "acked and delivered", func() bool {
			c := apis[0].counts(app, id)
			return c["acked"] >= float64(len(ds)) && c["delivered"] >= float64(len(ds))
		})
	}
	for _, id := range pushes {
		c := apis[1].counts(app, id)
		require.Equal(t, float64(len(ds)), c["acked"], "push %s", id)
		require.Equal(t, float64(len(ds)), c["delivered"], "push %s", id)
	}
	for _, d := range ds {
		for _, id := range pushes {
			require.Equal(t, 1, d.gotCount(id), "device %s got push %s once", d.id(), id)
		}
		d.stop()
	}
}

// TestAllRolesKilledOnClusters kills a process that runs every role on the
// clustered store (Redis streams, MongoDB push records, an external NATS)
// with SIGKILL while pushes and broadcasts are sent to two devices, and
// starts it again on the same address. Every push it answered 202 reaches
// its devices once and ends done: on this store a push is synced before
// routing and its stream messages live in Redis, so the restart routes
// what the dead process left pending.
func TestAllRolesKilledOnClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a node process twice")
	}
	const admin = "cluster-test-admin-token"
	addr := crashtest.FreeAddr(t)
	env := append(clusterEnv(startCluster(t)), "MOPUSH_GATEWAY_ADMIN_TOKEN="+admin, "MOPUSH_SERVER_LISTEN="+addr)
	node, base := startNodeProcess(t, "all", env...)
	app := api{t: t, base: base}.createApp(admin, "all-killed")
	ds, _ := readyDevices(t, base, app.key, 2)
	// Counts go to MongoDB summed in memory, so a kill loses some.
	pushAcross(t, base, app, ds, false, func() {
		kill(t, node)
		_, again := startNodeProcess(t, "all", env...)
		require.Equal(t, base, again, "the same address again")
	})
}
