package node

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/testsrv"
	"github.com/mopush/mopush/relay/vendors"
)

// TestSharedTokensOnClusterRelay: a relay node on a clustered store puts a
// token cache on the first Redis shard (by TCP or unix socket) into its
// vendor environment, also into an environment given in Options, and
// registers its metrics.
func TestSharedTokensOnClusterRelay(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	for name, addr := range map[string]string{"tcp": srv.Addr, "unix": srv.Socket} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := config.Default()
			cfg.Store.Backend, cfg.Store.Redis = "cluster", []string{addr, absentSocket(t)}
			reg := prometheus.NewPedanticRegistry()
			log := slog.New(slog.DiscardHandler)
			st, err := openSharedTokens(cfg, Roles{}.normal(), log, reg)
			require.NoError(t, err)
			require.NotNil(t, st)
			n := &Node{cfg: cfg, log: log, tokens: st}
			t.Cleanup(n.runTokens(context.Background()))

			env := n.relayEnv()
			require.NotNil(t, env.SharedTokens)
			require.True(t, env.SharedTokens == st.cache)

			ctx := t.Context()
			key := "test:node:" + name
			tok, err := env.SharedTokens.Get(ctx, key, func(context.Context) (string, time.Time, error) {
				return "minted", time.Now().Add(time.Hour), nil
			})
			require.NoError(t, err)
			require.Equal(t, "minted", tok)
			stored, err := st.rdb.Do(ctx, st.rdb.B().Exists().Key("mopush:token:"+key).Build()).AsInt64()
			require.NoError(t, err)
			require.EqualValues(t, 1, stored, "the token lives on the first shard")

			families, err := reg.Gather()
			require.NoError(t, err)
			var names []string
			for _, f := range families {
				names = append(names, f.GetName())
			}
			require.Contains(t, names, "push_store_tokencache_refreshes_total")

			n.opts.RelayEnv = &vendors.Env{AllowedHosts: []string{"fake.test"}}
			env = n.relayEnv()
			require.True(t, env.SharedTokens == st.cache, "an Options environment gets the node's cache")
			require.Equal(t, []string{"fake.test"}, env.AllowedHosts)
		})
	}
}

// absentSocket is the path of a unix socket nothing listens on.
func absentSocket(t *testing.T) string { return filepath.Join(t.TempDir(), "absent.sock") }

// TestNoSharedTokens: without a clustered store, or on a node that does
// not relay, there is no shared cache and the environment has none.
func TestNoSharedTokens(t *testing.T) {
	t.Parallel()
	sock := absentSocket(t)
	cluster := func(c *config.Config) { c.Store.Backend, c.Store.Redis = "cluster", []string{sock} }
	cases := []struct {
		name   string
		roles  Roles
		mutate func(*config.Config)
	}{
		{"pebble", Roles{}, func(*config.Config) {}},
		{"cluster without relay role", Roles{Gateway: true}, cluster},
		{"cluster with relay disabled", Roles{}, func(c *config.Config) { cluster(c); c.Relay.Disabled = true }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := config.Default()
			tc.mutate(&cfg)
			st, err := openSharedTokens(cfg, tc.roles.normal(), slog.New(slog.DiscardHandler), nil)
			require.NoError(t, err)
			require.Nil(t, st)
			n := &Node{cfg: cfg, tokens: st}
			require.Nil(t, n.relayEnv().SharedTokens)
		})
	}
}

// TestSharedTokensUnreachableRedis: a first shard that cannot be reached
// fails the start with its address.
func TestSharedTokensUnreachableRedis(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	sock := absentSocket(t)
	cfg.Store.Backend, cfg.Store.Redis = "cluster", []string{sock}
	_, err := openSharedTokens(cfg, Roles{}.normal(), slog.New(slog.DiscardHandler), nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), sock)
}

// TestClusterRelaysShareAPNsToken: two relay nodes on one clustered store,
// each relaying a push for the same app through APNs, use one provider
// token: the second node takes the first's from Redis.
func TestClusterRelaysShareAPNsToken(t *testing.T) {
	redis, mongo := testsrv.StartRedis(t), testsrv.StartMongo(t)
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	cluster := func(c *config.Config) {
		c.Store.Backend, c.Store.Mongo, c.Store.Redis = "cluster", mongo.URI, []string{redis.Addr}
		c.Relay.CredentialsKey = base64.StdEncoding.EncodeToString(key)
	}
	a := startRelay(t, cluster, nil, "")
	b := startRelay(t, cluster, a.apns, "")
	a.uploadAPNs()
	b.app = a.app

	for i, e := range []*relayEnv{a, b} {
		tok := apnsToken()
		d := a.newDevice(tok, nil)
		id := e.a.push(a.app, map[string]any{"audience": toDevices(d.id()), "notification": notification("via", fmt.Sprint(i))})
		e.waitCounts(id, map[string]float64{"relayed": 1})
		require.Len(t, a.received(tok), 1)
	}
	require.Equal(t, 1, a.apns.ProviderTokens(), "both nodes pushed with one provider token")
}
