package cache

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// trackingSpill wraps a PebbleSpill and counts the keys it holds.
type trackingSpill struct {
	*PebbleSpill
	mu   sync.Mutex
	keys map[string]bool
}

// openSpill opens a tracked Pebble spill store closed at the test's end.
func openSpill(t testing.TB) *trackingSpill {
	t.Helper()
	p, err := OpenPebbleSpill(t.TempDir(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return &trackingSpill{PebbleSpill: p, keys: map[string]bool{}}
}

func (s *trackingSpill) Put(key string, val []byte) error {
	s.mu.Lock()
	s.keys[key] = true
	s.mu.Unlock()
	return s.PebbleSpill.Put(key, val)
}

func (s *trackingSpill) Delete(key string) error {
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
	return s.PebbleSpill.Delete(key)
}

func (s *trackingSpill) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

func TestPebbleSpill(t *testing.T) {
	t.Parallel()
	p, err := OpenPebbleSpill("", nil)
	require.NoError(t, err)
	require.NoError(t, p.Put("a", []byte("1")))
	v, ok, err := p.Get("a")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "1", string(v))
	require.NoError(t, p.Delete("a"))
	require.NoError(t, p.Delete("a"))
	_, ok, err = p.Get("a")
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, p.Close())
	require.NoError(t, p.Close())
	_, err = os.Stat(p.dir)
	require.True(t, os.IsNotExist(err), "a temporary spill dir is removed")
}

func TestSpillPath(t *testing.T) {
	t.Parallel()
	spill := openSpill(t)
	rec := &recorder{}
	c := newCache(t, Config{
		Shards: 1, MaxBytes: 3 * costOf("big0", 0), Spill: spill, SpillThreshold: 16,
		OnEvict: rec.onEvict,
	})
	big := bytes.Repeat([]byte("x"), 1<<20) // far larger than the cap itself
	require.NoError(t, c.Set("big1", big, 0))
	require.Equal(t, costOf("big1", 0), c.Bytes(), "a spilled value costs only its key in memory")
	require.Equal(t, 1, spill.live())
	got, ok := c.Get("big1")
	require.True(t, ok)
	require.Equal(t, big, got)

	small := []byte("fits in memory")
	require.NoError(t, c.Set("small", small, 0))
	require.Equal(t, 1, spill.live(), "values up to the threshold stay in memory")

	require.NoError(t, c.Set("big1", []byte("replaced by a longer value"), 0))
	require.Equal(t, 1, spill.live(), "the replaced value left the spill store")
	got, _ = c.Get("big1")
	require.Equal(t, "replaced by a longer value", string(got))

	require.NoError(t, c.Set("big2", big, 0))
	require.NoError(t, c.Set("big3", big, 0)) // evicts small, the oldest
	require.Equal(t, []eviction{{"small", EvictCapacity}}, rec.list())
	require.Equal(t, 3, spill.live())

	c.Delete("big2")
	c.Invalidate("big3")
	require.Equal(t, 1, spill.live())
	c.InvalidateAll()
	require.Zero(t, spill.live())
	checkConsistent(t, c)
}

// failingSpill fails every call.
type failingSpill struct{ err error }

func (f failingSpill) Put(string, []byte) error         { return f.err }
func (f failingSpill) Get(string) ([]byte, bool, error) { return nil, false, f.err }
func (f failingSpill) Delete(string) error              { return f.err }

// readFailingSpill stores but cannot read back.
type readFailingSpill struct{ err error }

func (f readFailingSpill) Put(string, []byte) error         { return nil }
func (f readFailingSpill) Get(string) ([]byte, bool, error) { return nil, false, f.err }
func (f readFailingSpill) Delete(string) error              { return nil }

func TestSpillErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk gone")

	c := newCache(t, Config{Spill: failingSpill{boom}, SpillThreshold: 1})
	require.NoError(t, c.Set("k", []byte("1"), 0))
	require.ErrorIs(t, c.Set("k", []byte("22"), 0), boom)
	_, ok := c.Get("k")
	require.False(t, ok, "a failed spill leaves no stale value")

	rec := &recorder{}
	c = newCache(t, Config{Spill: readFailingSpill{boom}, SpillThreshold: 1, OnEvict: rec.onEvict})
	require.NoError(t, c.Set("k", []byte("22"), 0))
	_, ok = c.Get("k")
	require.False(t, ok)
	require.Equal(t, []eviction{{"k", EvictFailed}}, rec.list())
	require.Zero(t, c.Len())
}
