package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/testsrv"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := newCache(t, Config{})
	require.Len(t, c.shards, DefaultShards)
	require.Equal(t, int64(DefaultMaxBytes), c.Cap())
	require.Equal(t, DefaultJanitorInterval, c.cfg.JanitorInterval)

	c = newCache(t, Config{Shards: 5, MaxBytes: 8 << 20})
	require.Len(t, c.shards, 8, "shards round up to a power of two")
}

func TestConfigInvalid(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"negative max":     {MaxBytes: -1},
		"negative shards":  {Shards: -1},
		"negative ttl":     {DefaultTTL: -time.Second},
		"too many shards":  {Shards: 1 << 17},
		"cap below shards": {MaxBytes: 1024, Shards: 16},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := New(cfg)
			require.ErrorIs(t, err, ErrConfig)
		})
	}
}

func TestGetSetDelete(t *testing.T) {
	t.Parallel()
	c := newCache(t, Config{})
	_, ok := c.Get("a")
	require.False(t, ok)

	val := []byte("one")
	require.NoError(t, c.Set("a", val, 0))
	val[0] = 'X' // Set copied it
	got, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, "one", string(got))
	require.Equal(t, 1, c.Len())
	require.Equal(t, costOf("a", 3), c.Bytes())

	require.NoError(t, c.Set("a", []byte("three"), 0))
	got, _ = c.Get("a")
	require.Equal(t, "three", string(got))
	require.Equal(t, costOf("a", 5), c.Bytes())

	require.NoError(t, c.Set("empty", nil, 0))
	got, ok = c.Get("empty")
	require.True(t, ok)
	require.Empty(t, got)

	c.Delete("a")
	c.Delete("missing")
	_, ok = c.Get("a")
	require.False(t, ok)
	require.Equal(t, costOf("empty", 0), c.Bytes())
	checkConsistent(t, c)
}

func TestLRUOrder(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	// One shard with room for exactly four 100-byte values under 2-byte keys.
	c := newCache(t, Config{Shards: 1, MaxBytes: 4 * costOf("k0", 100), OnEvict: rec.onEvict})
	val := make([]byte, 100)
	set := func(k string) { require.NoError(t, c.Set(k, val, 0)) }
	get := func(k string) bool { _, ok := c.Get(k); return ok }

	for _, k := range []string{"k1", "k2", "k3", "k4"} {
		set(k)
	}
	require.Equal(t, c.Cap(), c.Bytes())
	require.True(t, get("k1")) // order, most recent first: k1 k4 k3 k2
	set("k5")                  // evicts k2
	require.Equal(t, []eviction{{"k2", EvictCapacity}}, rec.list())

	require.True(t, get("k3")) // k3 k5 k1 k4
	set("k6")                  // evicts k4
	set("k1")                  // replacing is a use, not an eviction: k1 k6 k3 k5
	set("k7")                  // evicts k5
	require.Equal(t, []eviction{{"k2", EvictCapacity}, {"k4", EvictCapacity}, {"k5", EvictCapacity}}, rec.list())
	for _, k := range []string{"k1", "k3", "k6", "k7"} {
		require.True(t, get(k), k)
	}

	// A bigger entry evicts as many of the oldest as it needs.
	rec.reset()
	require.NoError(t, c.Set("kb", make([]byte, 2*100+EntryOverhead+2), 0))
	require.Equal(t, []eviction{{"k1", EvictCapacity}, {"k3", EvictCapacity}}, rec.list())
	checkConsistent(t, c)
}

func TestTTL(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rec := &recorder{}
	c := newCache(t, Config{DefaultTTL: 10 * time.Second, Now: clock.Now, OnEvict: rec.onEvict})
	require.NoError(t, c.Set("default", []byte("d"), 0))
	require.NoError(t, c.Set("minute", []byte("m"), time.Minute))
	require.NoError(t, c.Set("forever", []byte("f"), NoExpiry))

	clock.Advance(10*time.Second - 1)
	for _, k := range []string{"default", "minute", "forever"} {
		_, ok := c.Get(k)
		require.True(t, ok, k)
	}
	clock.Advance(1)
	_, ok := c.Get("default")
	require.False(t, ok)
	require.Equal(t, []eviction{{"default", EvictExpired}}, rec.list())

	clock.Advance(time.Hour)
	_, ok = c.Get("minute")
	require.False(t, ok)
	_, ok = c.Get("forever")
	require.True(t, ok)
	require.Equal(t, 1, c.Len())
	checkConsistent(t, c)

	// Without a DefaultTTL, ttl 0 means never.
	c = newCache(t, Config{Now: clock.Now})
	require.NoError(t, c.Set("k", nil, 0))
	clock.Advance(1000 * time.Hour)
	_, ok = c.Get("k")
	require.True(t, ok)
}

func TestSweepAndRun(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rec := &recorder{}
	c := newCache(t, Config{Now: clock.Now, OnEvict: rec.onEvict, JanitorInterval: time.Millisecond})
	for i := range 100 {
		ttl := time.Duration(i%2+1) * time.Minute // odd keys live two minutes
		require.NoError(t, c.Set(strconv.Itoa(i), []byte("v"), ttl))
	}
	require.Equal(t, 0, c.Sweep())

	clock.Advance(time.Minute)
	require.Equal(t, 50, c.Sweep())
	require.Equal(t, 50, c.Len())
	for _, e := range rec.list() {
		require.Equal(t, EvictExpired, e.reason)
		n, err := strconv.Atoi(e.key)
		require.NoError(t, err)
		require.Zero(t, n%2, "only even keys expire after one minute")
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	clock.Advance(time.Minute)
	testsrv.WaitFor(t, 10*time.Second, func() bool { return len(rec.list()) == 100 })
	require.Zero(t, c.Bytes())
	cancel()
	require.NoError(t, <-done)
	checkConsistent(t, c)
}

func TestEvictReasons(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rec := &recorder{}
	reg := prometheus.NewPedanticRegistry()
	c := newCache(t, Config{
		Shards: 1, MaxBytes: 4 * costOf("k0", 10), Now: clock.Now,
		OnEvict: rec.onEvict, Registerer: reg, Name: "test",
	})
	v := make([]byte, 10)
	for _, k := range []string{"k1", "k2", "k3", "k4"} {
		require.NoError(t, c.Set(k, v, time.Minute))
	}
	require.NoError(t, c.Set("k1", v, time.Hour)) // replaced: no callback
	require.Empty(t, rec.list())

	c.Delete("k2")
	c.Invalidate("k3", "absent")
	require.NoError(t, c.Set("k5", v, time.Hour))
	require.NoError(t, c.Set("k6", v, time.Hour))
	require.NoError(t, c.Set("k7", v, time.Minute)) // evicts k4, the oldest
	clock.Advance(2 * time.Minute)
	require.Equal(t, 1, c.Sweep(), "k7 expired; k1, k5 and k6 live an hour")
	c.InvalidateAll()

	want := []eviction{
		{"k2", EvictDeleted}, {"k3", EvictInvalidated}, {"k4", EvictCapacity}, {"k7", EvictExpired},
		{"k6", EvictInvalidated}, {"k5", EvictInvalidated}, {"k1", EvictInvalidated},
	}
	require.Equal(t, want, rec.list())
	require.Zero(t, c.Len())
	require.Zero(t, c.Bytes())

	labels := map[string]string{"cache": "test"}
	for reason, n := range map[string]float64{"deleted": 1, "invalidated": 4, "capacity": 1, "expired": 1} {
		labels["reason"] = reason
		require.Equal(t, n, obstest.Value(t, reg, "push_store_cache_evictions_total", labels), reason)
	}
	checkConsistent(t, c)
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	c := newCache(t, Config{Shards: 2, MaxBytes: 2 * costOf("k", 1000)})
	require.NoError(t, c.Set("k", []byte("old"), 0))
	err := c.Set("k", make([]byte, 1001), 0)
	require.ErrorIs(t, err, ErrTooLarge)
	_, ok := c.Get("k")
	require.False(t, ok, "a refused Set leaves no stale value")
	require.NoError(t, c.Set("k", make([]byte, 1000), 0))
	require.Equal(t, c.Cap()/2, c.Bytes())
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	c := newCache(t, Config{Registerer: reg})
	require.NoError(t, c.Set("a", []byte("1"), 0))
	c.Get("a")
	c.Get("b")
	require.Equal(t, 1.0, obstest.Value(t, reg, "push_store_cache_requests_total", map[string]string{"result": "hit"}))
	require.Equal(t, 1.0, obstest.Value(t, reg, "push_store_cache_requests_total", map[string]string{"result": "miss"}))
	require.Equal(t, float64(costOf("a", 1)), obstest.Value(t, reg, "push_store_cache_size_bytes", nil))
	require.Equal(t, float64(DefaultMaxBytes), obstest.Value(t, reg, "push_store_cache_capacity_bytes", nil))
	require.Equal(t, 1.0, obstest.Value(t, reg, "push_store_cache_entries", nil))

	_, err := New(Config{Registerer: reg})
	require.Error(t, err, "a second unnamed cache on one registry collides")

	reg = prometheus.NewPedanticRegistry()
	for _, name := range []string{"devices", "routes"} {
		_, err = New(Config{Registerer: reg, Name: name})
		require.NoError(t, err, "named caches share a registry")
	}
}

// TestByteCapUnderOversizedWorkingSet writes a working set ten times the cap
// from eight goroutines and checks the cap after every Set.
func TestByteCapUnderOversizedWorkingSet(t *testing.T) {
	t.Parallel()
	const maxBytes = 1 << 20
	c := newCache(t, Config{MaxBytes: maxBytes})
	keys, sizes := workingSet(10*maxBytes, 7)

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			val := make([]byte, 2048)
			for range 20_000 {
				i := rng.IntN(len(keys))
				if err := c.Set(keys[i], val[:sizes[i]], 0); err != nil {
					t.Errorf("set: %v", err)
					return
				}
				if b := c.Bytes(); b > maxBytes {
					t.Errorf("Bytes() = %d > MaxBytes %d", b, maxBytes)
					return
				}
			}
		})
	}
	wg.Wait()
	checkConsistent(t, c)
	require.Greater(t, c.Bytes(), int64(maxBytes/2), "a full cache stays well used")
}

// workingSet returns keys and value sizes whose total cost is about total
// bytes.
func workingSet(total int64, seed uint64) ([]string, []int) {
	rng := rand.New(rand.NewPCG(seed, 2))
	var keys []string
	var sizes []int
	for sum := int64(0); sum < total; {
		k := fmt.Sprintf("device:%08d", len(keys))
		n := 64 + rng.IntN(1024)
		keys = append(keys, k)
		sizes = append(sizes, n)
		sum += costOf(k, n)
	}
	return keys, sizes
}

func TestConcurrentMixedOps(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rec := &recorder{}
	spill := openSpill(t)
	c := newCache(t, Config{
		MaxBytes: 256 << 10, Shards: 4, Now: clock.Now, OnEvict: rec.onEvict,
		Spill: spill, SpillThreshold: 900,
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			val := make([]byte, 1200)
			for range 5000 {
				k := strconv.Itoa(rng.IntN(2000))
				switch op := rng.IntN(100); {
				case op < 50:
					if v, ok := c.Get(k); ok && len(v) > len(val) {
						t.Errorf("value of %d bytes", len(v))
					}
				case op < 85:
					if err := c.Set(k, val[:rng.IntN(len(val))], time.Duration(1+rng.IntN(10))*time.Second); err != nil {
						t.Errorf("set: %v", err)
					}
				case op < 92:
					c.Delete(k)
				case op < 97:
					c.Invalidate(k, strconv.Itoa(rng.IntN(2000)))
				case op < 99:
					clock.Advance(time.Second)
				default:
					c.Sweep()
				}
			}
		})
	}
	wg.Wait()
	checkConsistent(t, c)
	c.InvalidateAll()
	require.Zero(t, spill.live(), "every spilled value left with its entry")
}
