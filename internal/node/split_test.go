package node

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
)

// TestSplitRolesRefuseOneProcessConfig: roles running apart refuse, at
// once and saying why, a configuration that only works in one process.
func TestSplitRolesRefuseOneProcessConfig(t *testing.T) {
	t.Parallel()
	base := func() config.Config {
		c, err := config.Load("", nil)
		require.NoError(t, err)
		c.Server.Listen = "127.0.0.1:0"
		c.Server.DataDir = t.TempDir()
		return c
	}
	cases := []struct {
		name   string
		mutate func(*config.Config)
		want   string
	}{
		{"embedded bus", func(*config.Config) {}, "bus.url"},
		{"embedded store", func(c *config.Config) { c.Bus.URL = "nats://127.0.0.1:4222" }, "store.backend"},
		{"no internal token", func(c *config.Config) {
			c.Bus.URL = "nats://127.0.0.1:4222"
			c.Store.Backend = "cluster"
		}, "internal_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.mutate(&cfg)
			_, err := New(cfg, Options{Roles: Roles{Connector: true}})
			require.True(t, errors.Is(err, ErrSplitConfig), "%v", err)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestUnknownBackendRefused(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load("", nil)
	require.NoError(t, err)
	cfg.Server.DataDir = t.TempDir()
	cfg.Store.Backend = "redis"
	_, err = New(cfg, Options{})
	require.ErrorContains(t, err, `store.backend "redis"`)
}
