package cache

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock is a settable clock for Config.Now.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// eviction is one OnEvict call.
type eviction struct {
	key    string
	reason EvictReason
}

// recorder collects OnEvict calls.
type recorder struct {
	mu  sync.Mutex
	got []eviction
}

func (r *recorder) onEvict(key string, reason EvictReason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, eviction{key, reason})
}

func (r *recorder) list() []eviction {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = nil
}

// newCache builds a cache and fails the test on error.
func newCache(t testing.TB, cfg Config) *Cache {
	t.Helper()
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

// costOf is what an in-memory entry of key and a value of n bytes costs.
func costOf(key string, n int) int64 { return int64(len(key)+n) + EntryOverhead }

// checkConsistent verifies that the totals match the shards and that every
// shard's list matches its map. The cache must be quiet.
func checkConsistent(t testing.TB, c *Cache) {
	t.Helper()
	var bytes int64
	var count int
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n, sum := 0, int64(0)
		for e := s.root.next; e != &s.root; e = e.next {
			require.Same(t, e, s.items[e.key])
			n++
			sum += e.cost
		}
		require.Equal(t, len(s.items), n)
		require.Equal(t, s.bytes, sum)
		require.LessOrEqual(t, s.bytes, s.cap)
		bytes += s.bytes
		count += n
		s.mu.Unlock()
	}
	require.Equal(t, bytes, c.Bytes())
	require.Equal(t, count, c.Len())
	require.LessOrEqual(t, c.Bytes(), c.Cap())
}
