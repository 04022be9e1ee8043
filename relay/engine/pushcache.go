package engine

import (
	"container/list"
	"context"
	"sync"

	"github.com/mopush/mopush/internal/store"
)

// pushCacheSize is how many pushes' content the engine keeps.
const pushCacheSize = 1024

// pushCache keeps the content of recently loaded pushes: app, notification
// and expiry, which never change once a push is accepted. One push fans
// out to as many relay jobs as it has targets, and each job would
// otherwise read and decode the whole record, its target list included:
// a push to 1,000 devices cost 1,000 decodes of 1,000 ids. The cached copy
// holds neither targets nor counts nor state, which do change or are
// large; the engine uses none of them.
type pushCache struct {
	mu    sync.Mutex
	max   int
	byID  map[string]*list.Element // of *store.Push
	order list.List                // front: most recently used
}

func newPushCache(n int) *pushCache {
	return &pushCache{max: n, byID: make(map[string]*list.Element, n)}
}

func (c *pushCache) get(id string) (*store.Push, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*store.Push), true
}

// put keeps the content of p, evicting the least recently used push when
// full.
func (c *pushCache) put(p *store.Push) {
	kept := &store.Push{ID: p.ID, AppID: p.AppID, Notification: p.Notification, CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[p.ID]; ok {
		el.Value = kept
		c.order.MoveToFront(el)
		return
	}
	c.byID[p.ID] = c.order.PushFront(kept)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(*store.Push).ID)
	}
}

// push returns a push's content, from the cache or the store. Callers
// must not modify it.
func (e *Engine) push(ctx context.Context, id string) (*store.Push, error) {
	if p, ok := e.pushes.get(id); ok {
		return p, nil
	}
	p, err := e.store.Push(ctx, id)
	if err != nil {
		return nil, err
	}
	e.pushes.put(p)
	return p, nil
}
