package node

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
)

// A start that fails after the store and the bus are open (here: the
// listen address is taken) returns an error and releases both, so a second
// start on the same data directory works.
func TestStartFailureReleasesWhatItOpened(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	dir := t.TempDir()
	cfg, err := config.Load("", nil)
	require.NoError(t, err)
	cfg.Server.DataDir = dir
	cfg.Server.ShutdownGrace.Duration = 2 * time.Second
	cfg.Server.Listen = taken.Addr().String()

	n, err := New(cfg, Options{})
	require.ErrorContains(t, err, "listen "+taken.Addr().String())
	require.Nil(t, n)

	// startNodeWith fails the test if this start fails.
	startNodeWith(t, Options{}, func(c *config.Config) { c.Server.DataDir = dir })
}
