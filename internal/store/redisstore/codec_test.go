package redisstore

import (
	"sync"
)

// invalidations records what an Invalidator is told.
type invalidations struct {
	mu   sync.Mutex
	keys []string
	all  int
}

func (i *invalidations) Invalidate(keys ...string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, keys...)
}

func (i *invalidations) InvalidateAll() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.all++
}

func (i *invalidations) list() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]string(nil), i.keys...)
}
