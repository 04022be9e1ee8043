package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// asMopush makes the test binary run as the mopush command, so that the
// bench can spawn it as its server and its workers.
const asMopush = "MOPUSH_CLI_TEST_AS_MOPUSH"

func TestMain(m *testing.M) {
	if os.Getenv(asMopush) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr, stop)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// The reconnect scenario end to end, with this binary as the spawned
// server and the workers: after the server is killed and started again,
// every device comes back and gets the push it missed, none retries, and
// none asks the dispatcher, because each dials its last connector again.
func TestBenchReconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a server and workers")
	}
	obj := runScenario(t, "reconnect")
	require.Positive(t, obj["reconnect_s"])
	require.Equal(t, 0.0, obj["retries_per_conn"])
	require.Equal(t, 0.0, obj["dispatches_per_conn"])
	require.Positive(t, obj["pending_pushes"])
}

// The idle scenario with worker processes reports the CPU they used per
// connect, beside the server's.
func TestBenchIdleDevicesCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a server and workers")
	}
	obj := runScenario(t, "idle")
	require.Positive(t, obj["cpu_us_per_connect"])
	require.Positive(t, obj["devices_cpu_us_per_connect"])
	require.Equal(t, 0.0, obj["dispatches_per_conn"])
}

// runScenario runs one run of scenario with 60 devices in two worker
// processes, this binary serving as the spawned server and the workers,
// and returns its JSON result.
func runScenario(t *testing.T, scenario string) map[string]any {
	t.Helper()
	t.Setenv(asMopush, "1") // for the children only: this process has started
	t.Setenv("MOPUSH_ADMIN_TOKEN", "")
	// The workers' output is copied to stderr from one goroutine each.
	var out, errOut lockedBuffer
	code := Main(t.Context(), []string{"bench", scenario, "--devices", "60", "--procs", "2", "--runs", "1", "--json"},
		&out, &errOut, func() {})
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	lines := bytes.Split(bytes.TrimSpace([]byte(out.String())), []byte("\n"))
	var obj map[string]any
	require.NoError(t, json.Unmarshal(lines[len(lines)-1], &obj), "stdout: %s", out.String())
	return obj
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
