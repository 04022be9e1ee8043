package pebblestore

import "github.com/mopush/mopush/internal/capmap"

// maxCachedMarks bounds the watermarks kept in memory (about 100 bytes
// each).
const maxCachedMarks = 1 << 16

// marks keeps the watermarks this process moved last. Every push reads and
// writes two of them (sent and acked), and a point read of a key that is
// overwritten all the time was 6% of the CPU of a push. Only Advance
// writes watermarks, under the device's stripe lock, and it updates the
// cache after the store, so a cached value is the stored one. A full
// cache drops an arbitrary entry, which is read from the store again.
type marks struct{ m *capmap.Map[string, uint64] }

func newMarks(max int) *marks { return &marks{m: capmap.New[string, uint64](max)} }

func (c *marks) get(key []byte) (uint64, bool) { return c.m.Get(string(key)) }

// put records a value that was just stored; callers hold the key's stripe
// lock.
func (c *marks) put(key []byte, v uint64) { c.m.Put(string(key), v) }

// drop forgets a watermark whose key was deleted; callers hold the key's
// stripe lock.
func (c *marks) drop(key []byte) { c.m.Delete(string(key)) }
