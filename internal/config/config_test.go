package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load("", nil)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", c.Server.Listen)
	require.Equal(t, "./data", c.Server.DataDir)
	require.Equal(t, "pebble", c.Store.Backend)
	require.Equal(t, 15*time.Second, c.Server.ShutdownGrace.Duration)
	require.Equal(t, 20*time.Millisecond, c.Relay.BatchWindow)

	c, err = Load("", []string{"MOPUSH_RELAY_BATCH_WINDOW=-1ms"})
	require.NoError(t, err)
	require.Equal(t, -time.Millisecond, c.Relay.BatchWindow, "a negative window turns batching off and stays")
}

func TestFileThenEnv(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mopush.toml")
	require.NoError(t, os.WriteFile(path, []byte(`
[server]
listen = "127.0.0.1:9000"
shutdown_grace = "3s"
[gateway]
max_targets = 50
[connector]
heartbeat = 5000000000
[bus]
sync = "always"
`), 0o600))
	c, err := Load(path, []string{"MOPUSH_SERVER_LISTEN=127.0.0.1:9100", "MOPUSH_GATEWAY_MAX_TARGETS=70",
		"MOPUSH_CONNECTOR_HANDSHAKE_TIMEOUT=2s", "OTHER=1", "MOPUSH_STORE_REDIS=127.0.0.1:6379, 127.0.0.1:6380",
		"MOPUSH_BUS_SYNC=5s"})
	require.NoError(t, err)
	require.Equal(t, "5s", c.Bus.Sync)
	require.Equal(t, "127.0.0.1:9100", c.Server.Listen)
	require.Equal(t, 70, c.Gateway.MaxTargets)
	require.Equal(t, 3*time.Second, c.Server.ShutdownGrace.Duration)
	require.Equal(t, 2*time.Second, c.Connector.HandshakeTimeout)
	require.Equal(t, 5*time.Second, c.Connector.Heartbeat)
	require.Equal(t, []string{"127.0.0.1:6379", "127.0.0.1:6380"}, c.Store.Redis)
}

func TestUnknownKeyAndBadEnv(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bad.toml")
	require.NoError(t, os.WriteFile(path, []byte("[server]\nlisten_addr = \"x\"\n"), 0o600))
	_, err := Load(path, nil)
	require.ErrorContains(t, err, "unknown keys")

	_, err = Load("", []string{"MOPUSH_GATEWAY_MAX_TARGETS=many"})
	require.ErrorContains(t, err, "MOPUSH_GATEWAY_MAX_TARGETS")
}
