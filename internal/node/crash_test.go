package node

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/bus"
	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/testsrv"
)

// asConnector makes the test binary run a connector node configured from
// MOPUSH_* variables, so that a test can kill it as a crash does.
const asConnector = "MOPUSH_NODE_TEST_AS_CONNECTOR"

func TestMain(m *testing.M) {
	if os.Getenv(asConnector) == "1" {
		os.Exit(runConnectorChild())
	}
	os.Exit(m.Run())
}

// runConnectorChild runs a connector node until the process is killed; it
// writes "ready" to stdout once the node serves.
func runConnectorChild() int {
	cfg, err := config.Load("", os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	n, err := New(cfg, Options{Roles: Roles{Connector: true}})
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
	fmt.Println("ready")
	fmt.Fprintln(os.Stderr, "node stopped:", <-done)
	return 1
}

// startConnectorProcess starts a connector node in a process of its own on
// the cluster of env (MOPUSH_* settings) and returns it once it serves.
func startConnectorProcess(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, asConnector+"=1",
		"MOPUSH_SERVER_LISTEN=127.0.0.1:0", "MOPUSH_SERVER_DATA_DIR="+t.TempDir(),
		"MOPUSH_LOG_LEVEL=warn")...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
	}()
	select {
	case ok := <-ready:
		require.True(t, ok, "connector process did not start")
	case <-time.After(60 * time.Second):
		t.Fatal("connector process not ready")
	}
	return cmd
}

// counterOf returns the value of counter name with label=value in reg.
func counterOf(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
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
	nats, err := bus.Open(bus.Config{Dir: t.TempDir(), Listen: "127.0.0.1:-1"}, nil)
	require.NoError(t, err)
	t.Cleanup(nats.Close)
	r1 := testsrv.StartRedis(t)
	mongo := testsrv.StartMongo(t)
	shared := clusterConfig(nats.ClientURL(), mongo.URI, []string{r1.Addr})

	reg := prometheus.NewRegistry()
	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true}, Registry: reg}, shared)
	c1, _ := startNodeWith(t, Options{Roles: Roles{Connector: true}}, shared)
	child := startConnectorProcess(t, clusterEnv(shared)...)
	waitFor(t, 20*time.Second, "both connectors on the gateway's ring", func() bool { return gw.members.Ring().Len() == 2 })

	a := api{t: t, base: gw.URL()}
	app := a.createApp(gw.AdminToken(), "crash")
	ds, ids := readyDevices(t, gw.URL(), app.key, 12)
	onChild := len(ds) - c1.Connectors()[0].Sessions()
	require.Positive(t, onChild, "some devices on the connector that crashes")

	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	_ = child.Wait()
	require.Equal(t, 2, gw.members.Ring().Len(), "the dead connector is still on the ring")
	id := a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("after", "the crash")})
	waitEachGot(t, ds, id)
	waitFor(t, 20*time.Second, "acked", func() bool { return a.counts(app, id)["acked"] == float64(len(ds)) })
	c := a.counts(app, id)
	require.Zero(t, c["failed"])
	require.Equal(t, float64(onChild), counterOf(t, reg, "push_gateway_route_fallbacks_total", "to", "connector"),
		"the dead connector's devices went to the next ring node")
	require.Zero(t, counterOf(t, reg, "push_gateway_route_fallbacks_total", "to", "store"))
	requireEachOnce(t, ds, id)
}

// TestOnlyConnectorCrashOnClusters kills the only connector: no node can
// take the push, so the gateway appends it to the devices' streams itself
// (offline, not failed), and the devices get it from there when they come
// back on a new connector.
func TestOnlyConnectorCrashOnClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a connector process")
	}
	nats, err := bus.Open(bus.Config{Dir: t.TempDir(), Listen: "127.0.0.1:-1"}, nil)
	require.NoError(t, err)
	t.Cleanup(nats.Close)
	r1 := testsrv.StartRedis(t)
	mongo := testsrv.StartMongo(t)
	shared := clusterConfig(nats.ClientURL(), mongo.URI, []string{r1.Addr})

	reg := prometheus.NewRegistry()
	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true}, Registry: reg}, shared)
	child := startConnectorProcess(t, clusterEnv(shared)...)
	waitFor(t, 20*time.Second, "the connector on the gateway's ring", func() bool { return gw.members.Ring().Len() == 1 })

	a := api{t: t, base: gw.URL()}
	app := a.createApp(gw.AdminToken(), "crash")
	ds, ids := readyDevices(t, gw.URL(), app.key, 4)

	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	_ = child.Wait()
	id := a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("nobody", "home")})
	waitFor(t, 20*time.Second, "routed", func() bool { return a.counts(app, id)["offline"] == float64(len(ds)) })
	require.Zero(t, a.counts(app, id)["failed"])
	require.Equal(t, float64(len(ds)), counterOf(t, reg, "push_gateway_route_fallbacks_total", "to", "store"))

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

// waitEachGot waits until every device received push id.
func waitEachGot(t *testing.T, ds []*device, id string) {
	t.Helper()
	for _, d := range ds {
		waitFor(t, 30*time.Second, "push received", func() bool { return d.gotCount(id) > 0 })
	}
}

// requireEachOnce checks that every device received push id exactly once,
// and stops the devices.
func requireEachOnce(t *testing.T, ds []*device, id string) {
	t.Helper()
	for _, d := range ds {
		require.Equal(t, 1, d.gotCount(id), "device %s got the push once", d.id())
		d.stop()
	}
}
