package cache

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/testsrv"
)

// newTier connects a rueidis client with client-side caching to srv and
// wraps it in a RedisTier.
func newTier(t *testing.T, srv *testsrv.Redis, reg prometheus.Registerer, hook func([]rueidis.RedisMessage)) (*RedisTier, rueidis.Client) {
	t.Helper()
	rdb, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:     []string{srv.Addr},
		OnInvalidations: hook,
	})
	require.NoError(t, err)
	t.Cleanup(rdb.Close)
	tier, err := NewRedisTier(RedisTierConfig{Registerer: reg}, rdb)
	require.NoError(t, err)
	return tier, rdb
}

func reads(t *testing.T, reg prometheus.Gatherer, result string) float64 {
	t.Helper()
	return obstest.Value(t, reg, "push_store_cache_redis_reads_total", map[string]string{"result": result})
}

// TestRedisTierInvalidatesAcrossClients: a value read through one client is
// served from its memory until another client writes the key; then Redis's
// invalidation drops it from the rueidis cache and, through
// InvalidationHook, from L0.
func TestRedisTierInvalidatesAcrossClients(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	rec := &recorder{}
	l0 := newCache(t, Config{OnEvict: rec.onEvict})
	reg := prometheus.NewPedanticRegistry()
	a, _ := newTier(t, srv, reg, InvalidationHook(l0))
	b, _ := newTier(t, srv, nil, nil)

	require.NoError(t, b.Set(ctx, "device:1", []byte("v1"), time.Hour))
	v, ok, err := a.Get(ctx, "device:1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "v1", string(v))
	require.NoError(t, l0.Set("device:1", v, 0))
	require.Equal(t, 1.0, reads(t, reg, "remote_hit"))

	v, _, err = a.Get(ctx, "device:1")
	require.NoError(t, err)
	require.Equal(t, "v1", string(v))
	require.Equal(t, 1.0, reads(t, reg, "local_hit"), "the second read is served from client memory")

	require.NoError(t, b.Set(ctx, "device:1", []byte("v2"), time.Hour))
	// OnEvict runs just after the entry is gone: wait for the callback.
	testsrv.WaitFor(t, 10*time.Second, func() bool { return len(rec.list()) > 0 })
	require.Equal(t, []eviction{{"device:1", EvictInvalidated}}, rec.list())
	_, ok = l0.Get("device:1")
	require.False(t, ok)
	v, _, err = a.Get(ctx, "device:1")
	require.NoError(t, err)
	require.Equal(t, "v2", string(v), "the client-side copy was dropped too")
	require.Equal(t, 2.0, reads(t, reg, "remote_hit"))

	_, ok, err = a.Get(ctx, "absent")
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, 1.0, reads(t, reg, "miss"))
}

func TestRedisTierGetMulti(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	reg := prometheus.NewPedanticRegistry()
	a, _ := newTier(t, srv, reg, nil)
	b, _ := newTier(t, srv, nil, nil)

	require.NoError(t, b.Set(ctx, "k1", []byte("one"), 0))
	require.NoError(t, b.Set(ctx, "k2", []byte("two"), time.Hour))
	keys := []string{"k1", "k2", "k3"}
	got, err := a.GetMulti(ctx, keys)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("one"), []byte("two"), nil}, got)
	got, err = a.GetMulti(ctx, keys)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("one"), []byte("two"), nil}, got)
	require.Equal(t, 2.0, reads(t, reg, "local_hit"))

	require.NoError(t, b.Delete(ctx, "k2"))
	testsrv.WaitFor(t, 10*time.Second, func() bool {
		got, err := a.GetMulti(ctx, keys)
		require.NoError(t, err)
		return got[1] == nil
	})
	got, err = a.GetMulti(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
	require.NoError(t, a.Delete(ctx))
}

// TestInvalidationHookFlushAll: FLUSHALL invalidates every tracked key at
// once (a nil list), which must clear all of L0.
func TestInvalidationHookFlushAll(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	l0 := newCache(t, Config{})
	a, _ := newTier(t, srv, nil, InvalidationHook(l0))
	_, rdbB := newTier(t, srv, nil, nil)

	require.NoError(t, a.Set(ctx, "tracked", []byte("x"), 0))
	_, _, err := a.Get(ctx, "tracked")
	require.NoError(t, err)
	require.NoError(t, l0.Set("tracked", []byte("x"), 0))
	require.NoError(t, l0.Set("local-only", []byte("y"), 0))

	require.NoError(t, rdbB.Do(ctx, rdbB.B().Flushall().Build()).Error())
	testsrv.WaitFor(t, 10*time.Second, func() bool { return l0.Len() == 0 })
}

// TestInvalidationHookOnServerLoss: when Redis goes away the client can no
// longer hear invalidations, so L0 is emptied; after a restart reads work
// again.
func TestInvalidationHookOnServerLoss(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	l0 := newCache(t, Config{})
	a, _ := newTier(t, srv, nil, InvalidationHook(l0))
	require.NoError(t, a.Set(ctx, "k", []byte("v"), 0))
	_, _, err := a.Get(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, l0.Set("k", []byte("v"), 0))

	srv.Kill()
	testsrv.WaitFor(t, 10*time.Second, func() bool { return l0.Len() == 0 })

	require.NoError(t, srv.Restart())
	testsrv.WaitFor(t, 10*time.Second, func() bool {
		_, ok, err := a.Get(ctx, "k")
		return err == nil && !ok // the restarted server is empty
	})
}
