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
type TokenCache struct {
	fetch FetchFunc
	now   func() time.Time
	slot  chan struct{}

	mu        sync.RWMutex
	value     string
	refreshAt time.Time
}

// NewTokenCache returns an empty cache that fills itself with fetch. A nil
// now means time.Now.
func NewTokenCache(fetch FetchFunc, now func() time.Time) *TokenCache {
	if now == nil {
		now = time.Now
	}
	return &TokenCache{fetch: fetch, now: now, slot: make(chan struct{}, 1)}
}

// Get returns a usable token, fetching one if the cache is empty or stale.
func (c *TokenCache) Get(ctx context.Context) (string, error) {
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

// Invalidate drops value if it is still the cached token, so that the next
// Get fetches a new one. A token already replaced by another caller's
// refresh is left alone.
func (c *TokenCache) Invalidate(value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.value == value {
		c.value = ""
		c.refreshAt = time.Time{}
	}
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
			c.Invalidate(tok)
			continue
		}
		return res, err
	}
}
