// Package capmap is a map for caches of facts that rarely go stale: safe
// for concurrent use, with a cap on its entries past which it drops an
// arbitrary one.
package capmap

import "sync"

// Map holds at most its cap of entries. The zero value is not usable; use
// New.
type Map[K comparable, V any] struct {
	mu  sync.Mutex
	m   map[K]V
	max int
}

// New returns an empty map that holds at most limit entries (at least 1).
func New[K comparable, V any](limit int) *Map[K, V] {
	return &Map[K, V]{m: map[K]V{}, max: max(limit, 1)}
}

// Get returns the value of k.
func (c *Map[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	return v, ok
}

// Put sets the value of k, first dropping an arbitrary entry when the map
// is full and k is new.
func (c *Map[K, V]) Put(k K, v V) {
	c.mu.Lock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
	c.mu.Unlock()
}

// Delete removes k.
func (c *Map[K, V]) Delete(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// Len returns the number of entries.
func (c *Map[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
