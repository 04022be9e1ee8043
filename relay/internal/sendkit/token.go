package sendkit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// maxRefreshMargin caps how long before its expiry a token is replaced.
const maxRefreshMargin = 5 * time.Minute

// Token is a vendor access token and the time it stops working.
type Token struct {
	Value  string    // the token as the vendor expects it
	Expiry time.Time // when the vendor stops accepting it
}

// FetchFunc asks the vendor for a new access token.
type FetchFunc func(ctx context.Context) (Token, error)

// TokenCache holds one vendor access token and replaces it shortly before it
// expires or when a caller reports that the vendor refused it. Refreshes are
// serialized: callers that miss check again after taking the refresh slot, so
// many concurrent senders cause one fetch.
//
// A cache built by NewSharedTokenCache keeps no token of its own: it asks
// a SharedTokens under its key, which fetches once for the whole cluster.
type TokenCache struct {
	fetch  FetchFunc
	now    func() time.Time
	slot   chan struct{} // the refresh slot, or the invalidation slot when shared
	shared SharedTokens  // nil: the token lives in this cache only
	key    string        // the token's name in shared

	mu        sync.RWMutex
	value     string    // the cached token; unused when shared
	refreshAt time.Time // when value is due for replacement
	refused   string    // the last token discarded from shared
}

// NewTokenCache returns an empty cache that fills itself with fetch. A nil
// now means time.Now.
func NewTokenCache(fetch FetchFunc, now func() time.Time) *TokenCache {
	if now == nil {
		now = time.Now
	}
	return &TokenCache{fetch: fetch, now: now, slot: make(chan struct{}, 1)}
}

// NewSharedTokenCache returns a cache whose token lives in shared under
// key (see TokenKey), fetched with fetch by whichever instance of the
// cluster finds it missing or stale. A nil shared gives NewTokenCache's
// cache, and key is then unused.
func NewSharedTokenCache(fetch FetchFunc, now func() time.Time, shared SharedTokens, key string) *TokenCache {
	c := NewTokenCache(fetch, now)
	if shared != nil {
		c.shared, c.key = shared, key
	}
	return c
}

// Get returns a usable token, fetching one if the cache is empty or stale.
func (c *TokenCache) Get(ctx context.Context) (string, error) {
	if c.shared != nil {
		return c.shared.Get(ctx, c.key, c.refresh)
	}
	if v, ok := c.cached(); ok {
		return v, nil
	}
	select {
	case c.slot <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.slot }()
	if v, ok := c.cached(); ok {
		return v, nil
	}
	tok, err := c.fetch(ctx)
	if err != nil {
		return "", err
	}
	c.store(tok)
	return tok.Value, nil
}

// refresh adapts fetch to the shared cache.
func (c *TokenCache) refresh(ctx context.Context) (string, time.Time, error) {
	tok, err := c.fetch(ctx)
	return tok.Value, tok.Expiry, err
}

// Invalidate drops value if it is still the cached token, so that the next
// Get fetches a new one. A token already replaced by another caller's
// refresh is left alone.
//
// A shared cache cannot tell whether value is still its current token, so
// the key's token is discarded across the cluster, unless this cache
// already discarded the same value: concurrent refusals of one token cause
// one invalidation here, and wait for it, so that their retries do not see
// the refused token again. Another instance that still held the refused
// token may discard the token that replaced it; that costs one extra
// fetch. The error is the shared cache's; a caller may retry regardless,
// since a shared cache that cannot reach its store fetches on its own.
func (c *TokenCache) Invalidate(ctx context.Context, value string) error {
	if c.shared != nil {
		return c.invalidateShared(ctx, value)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.value == value {
		c.value = ""
		c.refreshAt = time.Time{}
	}
	return nil
}

// invalidateShared discards the key's token in the shared cache, once per
// refused value.
func (c *TokenCache) invalidateShared(ctx context.Context, value string) error {
	select {
	case c.slot <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.slot }()
	c.mu.RLock()
	done := c.refused == value
	c.mu.RUnlock()
	if done {
		return nil
	}
	if err := c.shared.Invalidate(ctx, c.key); err != nil {
		return err
	}
	c.mu.Lock()
	c.refused = value
	c.mu.Unlock()
	return nil
}

func (c *TokenCache) cached() (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.value == "" || !c.now().Before(c.refreshAt) {
		return "", false
	}
	return c.value, true
}

func (c *TokenCache) store(tok Token) {
	now := c.now()
	margin := tok.Expiry.Sub(now) / 10
	margin = min(margin, maxRefreshMargin)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.value = tok.Value
	c.refreshAt = tok.Expiry.Add(-margin)
}

// SendWithToken calls send with the cached access token. If send's error
// wraps ErrTokenRefused, the token is dropped and send is called once more
// with a fresh one; a second refusal is returned as is.
func SendWithToken[T any](ctx context.Context, c *TokenCache, send func(ctx context.Context, token string) (T, error)) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		tok, err := c.Get(ctx)
		if err != nil {
			return zero, err
		}
		res, err := send(ctx, tok)
		if attempt == 0 && errors.Is(err, ErrTokenRefused) {
			// The retry's answer decides: after a failed shared
			// invalidation it may get the same token and be refused.
			c.Invalidate(ctx, tok) //nolint:errcheck // see above
			continue
		}
		return res, err
	}
}
