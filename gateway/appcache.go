package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// appCacheMax bounds the apps an appCache holds.
const appCacheMax = 10_000

// appCache keeps apps found by key for a short time, so that pushes and
// registrations do not read their app from the store on every request (on
// the cluster store, a MongoDB query each). An app changed through this
// gateway leaves the cache at once; one changed through another gateway
// node is seen here within the TTL. Unknown keys are not cached.
type appCache struct {
	ttl time.Duration // 0: no caching
	now func() time.Time

	mu    sync.Mutex
	byKey map[string]appEntry
}

type appEntry struct {
	app     store.App
	expires time.Time
}

func newAppCache(ttl time.Duration) *appCache {
	return &appCache{ttl: max(ttl, 0), now: time.Now, byKey: make(map[string]appEntry)}
}

// get returns the app with the key, from the cache or else from
// st.AppByKey.
func (c *appCache) get(ctx context.Context, st Store, key string) (*store.App, error) {
	if c.ttl == 0 {
		return st.AppByKey(ctx, key)
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.byKey[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		a := e.app // a copy: callers may change theirs
		return &a, nil
	}
	app, err := st.AppByKey(ctx, key)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byKey) >= appCacheMax {
		c.dropExpiredLocked(now)
		if len(c.byKey) >= appCacheMax {
			clear(c.byKey)
		}
	}
	c.byKey[key] = appEntry{app: *app, expires: now.Add(c.ttl)}
	return app, nil
}

// drop removes the app with the id, after a change made through this
// gateway.
func (c *appCache) drop(appID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.byKey {
		if e.app.ID == appID {
			delete(c.byKey, k)
		}
	}
}

func (c *appCache) dropExpiredLocked(now time.Time) {
	for k, e := range c.byKey {
		if !now.Before(e.expires) {
			delete(c.byKey, k)
		}
	}
}
