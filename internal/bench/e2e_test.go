package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/node"
	"github.com/mopush/mopush/internal/obs"
)

// startNode runs a node on 127.0.0.1 with a random port until the test
// ends.
func startNode(t *testing.T) *node.Node {
	t.Helper()
	cfg, err := config.Load("", nil)
	require.NoError(t, err)
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Server.DataDir = t.TempDir()
	cfg.Server.ShutdownGrace.Duration = 2 * time.Second
	cfg.Connector.DrainJitter = time.Millisecond
	cfg.Relay.Disabled = true
	n, err := node.New(cfg, node.Options{Registry: obs.NewRegistry()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	waitCtx, stop := context.WithTimeout(t.Context(), 30*time.Second)
	defer stop()
	require.NoError(t, pollUntil(waitCtx, 5*time.Millisecond, n.Ready), "node ready")
	return n
}

// runInProcess runs a scenario once against n with workers in this
// process and returns the figures of its only run and the JSON printed.
func runInProcess(t *testing.T, n *node.Node, cfg Config) (Figures, map[string]any) {
	t.Helper()
	cfg.Server, cfg.PID, cfg.AdminToken = n.URL(), os.Getpid(), n.AdminToken()
	cfg.Devices, cfg.Procs, cfg.Runs, cfg.InProcess, cfg.JSON = 50, 2, 1, true, true
	var out bytes.Buffer
	sum, err := Run(t.Context(), cfg, &out)
	require.NoError(t, err)
	require.Len(t, sum.Runs, 1)
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	require.Len(t, lines, 2, "a result line and a JSON object: %s", out.String())
	require.Contains(t, string(lines[0]), cfg.Scenario+" devices=50 procs=2 ")
	var obj map[string]any
	require.NoError(t, json.Unmarshal(lines[1], &obj))
	require.Equal(t, cfg.Scenario, obj["scenario"])
	require.Len(t, obj["every_run"], 1)
	return sum.Runs[0], obj
}

// figure returns a figure that must be present and finite.
func figure(t *testing.T, f Figures, obj map[string]any, name string) float64 {
	t.Helper()
	v, ok := f.Get(name)
	require.True(t, ok, "figure %s missing from %v", name, f)
	require.False(t, math.IsNaN(v) || math.IsInf(v, 0), "%s=%v", name, v)
	require.Contains(t, obj, name)
	return v
}

func TestScenariosInProcess(t *testing.T) {
	n := startNode(t)

	t.Run("idle", func(t *testing.T) {
		f, obj := runInProcess(t, n, Config{Scenario: "idle"})
		figure(t, f, obj, "rss_per_conn_kb") // the test process holds devices and server: only its presence is meaningful
		require.Positive(t, figure(t, f, obj, "goroutines_per_conn"))
		require.Positive(t, figure(t, f, obj, "handshakes_per_s"))
		require.GreaterOrEqual(t, figure(t, f, obj, "cpu_us_per_connect"), 0.0)
		require.Positive(t, figure(t, f, obj, "rss_mb"))
		require.GreaterOrEqual(t, figure(t, f, obj, "reconnects_per_conn"), 0.0)
		_, ok := f.Get("devices_cpu_us_per_connect")
		require.False(t, ok, "workers in this process have no CPU of their own")
	})

	t.Run("unicast", func(t *testing.T) {
		f, obj := runInProcess(t, n, Config{Scenario: "unicast", Rate: 50, Duration: time.Second})
		require.GreaterOrEqual(t, figure(t, f, obj, "max_rate_p99_under_10ms"), 0.0)
		require.Positive(t, figure(t, f, obj, "pushes_per_s"))
		p50 := figure(t, f, obj, "p50_ms")
		p99 := figure(t, f, obj, "p99_ms")
		p999 := figure(t, f, obj, "p999_ms")
		require.Positive(t, p50)
		require.GreaterOrEqual(t, p99, p50)
		require.GreaterOrEqual(t, p999, p99)
		require.Equal(t, 1.0, figure(t, f, obj, "steps"))
		require.GreaterOrEqual(t, figure(t, f, obj, "reconnects_per_conn"), 0.0)
	})
	t.Run("broadcast", func(t *testing.T) {
		f, obj := runInProcess(t, n, Config{Scenario: "broadcast", Duration: 500 * time.Millisecond})
		require.Positive(t, figure(t, f, obj, "delivered_per_s"))
		require.GreaterOrEqual(t, figure(t, f, obj, "cpu_us_per_msg"), 0.0)
		require.GreaterOrEqual(t, figure(t, f, obj, "p99_ms"), figure(t, f, obj, "p50_ms"))
		require.GreaterOrEqual(t, figure(t, f, obj, "broadcasts"), 1.0)
		require.Equal(t, 1.0, figure(t, f, obj, "delivered_ratio"))
		acks := figure(t, f, obj, "acks_per_msg") // pushes read together take one Ack
		require.Positive(t, acks)
		require.LessOrEqual(t, acks, 1.0)
	})
}
