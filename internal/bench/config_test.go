package bench

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestServerPort(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]int{
		"http://127.0.0.1:8080": 8080, "http://127.4.5.6:9/": 9, "http://localhost:1234": 1234,
	} {
		got, err := serverPort(raw)
		require.NoError(t, err, raw)
		require.Equal(t, want, got)
	}
	for _, raw := range []string{"http://10.0.0.1:8080", "http://[::1]:8080", "http://example.com:80", "https://127.0.0.1:443", "http://127.0.0.1"} {
		_, err := serverPort(raw)
		require.Error(t, err, raw)
	}
	_, err := serverPort("http://192.168.1.1:80")
	require.ErrorIs(t, err, ErrNotLoopback)
}

func TestSourceIPRotates(t *testing.T) {
	t.Parallel()
	require.Equal(t, "127.0.0.1", sourceIP(0, 3).String())
	require.Equal(t, "127.0.0.3", sourceIP(2, 3).String())
	require.Equal(t, "127.0.0.1", sourceIP(3, 3).String())
	require.Equal(t, "127.0.0.1", sourceIP(7, 0).String())
	require.Equal(t, "127.0.0.254", sourceIP(253, 1000).String())
}

func TestSplit(t *testing.T) {
	t.Parallel()
	require.Equal(t, []int{4, 3, 3}, split(10, 3))
	require.Equal(t, []int{18000}, split(18000, 1))
	require.Equal(t, 2, ceilDiv(18000, MaxDevicesPerProc))
	require.Equal(t, 1, ceilDiv(15000, MaxDevicesPerProc))
}

func TestConfigRefuses(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"unknown scenario":        {Scenario: "storm"},
		"reconnect with --server": {Scenario: "reconnect", Server: "http://127.0.0.1:8080"},
		"not loopback":            {Scenario: "idle", Server: "http://10.1.2.3:8080"},
		"too many per process":    {Scenario: "idle", Devices: 100_000, Procs: 1, Server: "http://127.0.0.1:8080", InProcess: true},
		"negative rate":           {Scenario: "unicast", Rate: -1},
		"negative settle":         {Scenario: "unicast", Settle: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := cfg.setDefaults()
			require.Error(t, err)
			if name != "not loopback" {
				require.ErrorIs(t, err, ErrBadConfig)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg := Config{Scenario: "idle", Devices: 18000, Server: "http://127.0.0.1:8080"}
	require.NoError(t, cfg.setDefaults())
	require.Equal(t, 2, cfg.Procs)
	require.Equal(t, 3, cfg.Runs)
	require.Equal(t, 4, cfg.SourceAddrs)
	require.Equal(t, 5*time.Second, cfg.Duration)
	require.NotEmpty(t, cfg.Executable)
}

func TestGate(t *testing.T) {
	t.Parallel()
	g := newGate()
	require.NoError(t, g.wait(t.Context()))
	g.hold()
	g.hold()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, g.wait(ctx), context.Canceled, "a held gate waits")
	waited := make(chan error, 1)
	go func() { waited <- g.wait(t.Context()) }()
	g.release()
	g.release()
	require.NoError(t, <-waited)
}

func TestDialFromUsesSourceAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c.RemoteAddr()
			c.Close()
		}
	}()
	c, err := dialFrom(newGate(), sourceIP(2, 5))(t.Context(), "tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, "127.0.0.3", (<-accepted).(*net.TCPAddr).IP.String())
}

func TestScheduleAccountsForEveryJob(t *testing.T) {
	t.Parallel()
	jobs := make(chan string, 1000)
	skipped := schedule(t.Context(), 1e6, 500, func() string { return "d" }, jobs)
	require.Equal(t, 500, len(jobs)+skipped)

	full := make(chan string) // nobody receives: every job is dropped
	require.Equal(t, 20, schedule(t.Context(), 1e6, 20, func() string { return "d" }, full))
}

// The settle time is printed with the unicast settings when it is set.
func TestParamsShowSettle(t *testing.T) {
	t.Parallel()
	cfg := Config{Scenario: "unicast", Rate: 1000, Duration: 15 * time.Second}
	require.NotContains(t, cfg.params(), Param{"settle", "0s"})
	cfg.Settle = 14 * time.Second
	require.Contains(t, cfg.params(), Param{"settle", "14s"})
	require.Contains(t, strings.Join(notes(cfg), "\n"), "plus 14s of settling")
}
