package tokencache

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// RefreshFunc mints a new token and says when it expires. Its context ends
// when the refresh lock does.
type RefreshFunc func(ctx context.Context) (token string, expiresAt time.Time, err error)

// releaseScript deletes the lock only if it still holds our owner id, so a
// refresher whose lock expired cannot release a successor's lock.
const releaseScript = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`

// releaseTimeout bounds the lock release, which runs even when the caller's
// context has ended.
const releaseTimeout = 2 * time.Second

// Cache is the cluster-wide token cache of one instance. Build it with New.
type Cache struct {
	cfg     Config
	rdb     rueidis.Client
	release *rueidis.Lua
	id      string // this instance, to ignore its own notices
	metrics *metrics

	mu      sync.Mutex
	local   map[string]localCopy
	flights map[string]*flight
}

// localCopy is a token held in memory and when it was fetched.
type localCopy struct {
	tok     token
	fetched time.Time
}

// flight is one lookup in progress that concurrent Gets of the key share.
type flight struct {
	done       chan struct{}
	tok        token
	err        error
	leaderGone bool // the lookup failed because its caller's context ended
	waiters    int  // callers that joined, under Cache.mu
}

// New returns a Cache on rdb. It fails only when the metrics cannot be
// registered.
func New(cfg Config, rdb rueidis.Client) (*Cache, error) {
	cfg = cfg.withDefaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Cache{
		cfg:     cfg,
		rdb:     rdb,
		release: rueidis.NewLuaScript(releaseScript),
		id:      randomID(),
		metrics: m,
		local:   make(map[string]localCopy),
		flights: make(map[string]*flight),
	}, nil
}

// randomID returns 16 random bytes in hex.
func randomID() string {
	var b [16]byte
	crand.Read(b[:]) //nolint:errcheck // never fails
	return hex.EncodeToString(b[:])
}

// Get returns the token for key, calling refresh at most once across the
// cluster when no fresh token exists. It returns refresh's error (wrapped)
// to every caller that waited on that refresh; nothing is cached then. When
// Redis cannot be reached it refreshes without sharing rather than fail.
func (c *Cache) Get(ctx context.Context, key string, refresh RefreshFunc) (string, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	lc, ok := c.local[key]
	c.mu.Unlock()
	if ok && now.Before(lc.tok.refreshAt(c.cfg.RefreshMargin)) && now.Sub(lc.fetched) < c.cfg.LocalTTL {
		c.metrics.get(sourceLocal)
		return lc.tok.value, nil
	}
	tok, err := c.shared(ctx, key, refresh)
	if err != nil {
		return "", err
	}
	return tok.value, nil
}

// shared runs one lookup of key per process: the first caller does it,
// later ones wait for its result. When the first caller's context ends,
// a waiter whose context has not takes over.
func (c *Cache) shared(ctx context.Context, key string, refresh RefreshFunc) (token, error) {
	for {
		c.mu.Lock()
		f, ok := c.flights[key]
		if !ok {
			f = &flight{done: make(chan struct{})}
			c.flights[key] = f
			c.mu.Unlock()
			return c.lead(ctx, key, refresh, f)
		}
		f.waiters++
		c.mu.Unlock()
		select {
		case <-f.done:
			if f.leaderGone && !ended(ctx) {
				continue
			}
			if f.err == nil {
				c.metrics.get(sourceShared)
			}
			return f.tok, f.err
		case <-ctx.Done():
			return token{}, ctx.Err()
		}
	}
}

// lead does the lookup of flight f and publishes its result.
func (c *Cache) lead(ctx context.Context, key string, refresh RefreshFunc, f *flight) (token, error) {
	f.tok, f.err = c.lookup(ctx, key, refresh)
	f.leaderGone = f.err != nil && ended(ctx)
	c.mu.Lock()
	delete(c.flights, key)
	if f.err == nil {
		c.local[key] = localCopy{tok: f.tok, fetched: c.cfg.Now()}
	}
	c.mu.Unlock()
	close(f.done)
	return f.tok, f.err
}

// lookup finds or makes a token through Redis, and makes one alone when
// Redis fails.
func (c *Cache) lookup(ctx context.Context, key string, refresh RefreshFunc) (token, error) {
	tok, err := c.lookupShared(ctx, key, refresh)
	if err == nil || ended(ctx) || !errors.Is(err, errRedis) {
		return tok, err
	}
	c.cfg.Logger.Warn("redis unavailable, refreshing token unshared", "key", key, "error", err)
	return c.mint(ctx, key, refresh, time.Now().Add(c.cfg.LockTTL))
}

// ended reports whether ctx is over. A deadline that has passed counts even
// before ctx's own timer has fired, since a Redis command bounded by it
// fails at once: that failure is the caller's, not Redis's.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// lookupShared finds a fresh token in Redis or makes one: check, lock,
// check again, refresh. Losers of the lock race poll until the winner's
// token appears or the lock frees up.
func (c *Cache) lookupShared(ctx context.Context, key string, refresh RefreshFunc) (token, error) {
	if tok, ok, err := c.load(ctx, key); err != nil || ok {
		if ok {
			c.metrics.get(sourceRedis)
		}
		return tok, err
	}
	pause := c.cfg.PollMin
	for {
		owner, acquired, err := c.lock(ctx, key)
		if err != nil {
			return token{}, err
		}
		if acquired {
			return c.refreshLocked(ctx, key, owner, refresh)
		}
		if err := c.pause(ctx, pause); err != nil {
			return token{}, err
		}
		pause = min(2*pause, c.cfg.PollMax)
		tok, ok, err := c.load(ctx, key)
		if err != nil || ok {
			if ok {
				c.metrics.get(sourceWaited)
			}
			return tok, err
		}
	}
}

// pause waits about d (with jitter) or until ctx ends.
func (c *Cache) pause(ctx context.Context, d time.Duration) error {
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// do runs one Redis command bounded by OpTimeout; a failure wraps errRedis.
func (c *Cache) do(ctx context.Context, what string, cmd rueidis.Completed) rueidis.RedisResult {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	defer cancel()
	res := c.rdb.Do(ctx, cmd)
	if err := res.Error(); err != nil && !rueidis.IsRedisNil(err) {
		return rueidis.NewErrorResult(fmt.Errorf("%s: %w: %w", what, errRedis, err))
	}
	return res
}

// load reads key's token from Redis; ok is false when there is none or it
// is due for refresh.
func (c *Cache) load(ctx context.Context, key string) (token, bool, error) {
	s, err := c.do(ctx, "read token", c.rdb.B().Get().Key(c.cfg.Prefix+key).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return token{}, false, nil
	}
	if err != nil {
		return token{}, false, err
	}
	tok, err := decode(s)
	if err != nil {
		c.cfg.Logger.Warn("ignoring undecodable token", "key", key, "error", err)
		return token{}, false, nil
	}
	if !c.cfg.Now().Before(tok.refreshAt(c.cfg.RefreshMargin)) {
		return token{}, false, nil
	}
	return tok, true, nil
}

// lock tries to take key's refresh lock, returning the owner id that
// releases it.
func (c *Cache) lock(ctx context.Context, key string) (string, bool, error) {
	owner := randomID()
	cmd := c.rdb.B().Set().Key(c.lockKey(key)).Value(owner).Nx().Px(c.cfg.LockTTL).Build()
	err := c.do(ctx, "lock token", cmd).Error()
	if rueidis.IsRedisNil(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return owner, true, nil
}

// lockKey names key's refresh lock.
func (c *Cache) lockKey(key string) string { return c.cfg.Prefix + key + ":lock" }

// refreshLocked runs under key's lock: it checks Redis again, refreshes,
// stores and announces the token, and releases the lock.
func (c *Cache) refreshLocked(ctx context.Context, key, owner string, refresh RefreshFunc) (token, error) {
	lockEnds := time.Now().Add(c.cfg.LockTTL)
	defer c.unlock(ctx, key, owner)
	if tok, ok, err := c.load(ctx, key); err != nil || ok {
		if ok {
			c.metrics.get(sourceRedis)
		}
		return tok, err
	}
	tok, err := c.mint(ctx, key, refresh, lockEnds)
	if err != nil {
		return token{}, err
	}
	c.store(ctx, key, tok)
	return tok, nil
}

// mint calls refresh with a context that ends at deadline and checks what
// it returns.
func (c *Cache) mint(ctx context.Context, key string, refresh RefreshFunc, deadline time.Time) (token, error) {
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	issued := c.cfg.Now()
	value, expires, err := refresh(rctx)
	if err == nil && (value == "" || !expires.After(issued)) {
		err = ErrBadToken
	}
	c.metrics.refreshed(err == nil)
	if err != nil {
		return token{}, fmt.Errorf("refresh token %s: %w", key, err)
	}
	c.metrics.get(sourceRefreshed)
	return token{value: value, issued: issued, expires: expires}, nil
}

// store writes tok to Redis for the rest of its life and announces it. A
// failure here does not fail the Get that refreshed: the token is good, the
// other instances will just mint their own.
func (c *Cache) store(ctx context.Context, key string, tok token) {
	ttl := tok.expires.Sub(c.cfg.Now())
	if ttl < time.Millisecond {
		return // expired while we refreshed: nothing worth sharing
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	defer cancel()
	cmds := []rueidis.Completed{
		c.rdb.B().Set().Key(c.cfg.Prefix + key).Value(tok.encode()).Px(ttl).Build(),
		c.rdb.B().Publish().Channel(c.cfg.Channel).Message(c.id + " " + key).Build(),
	}
	for _, res := range c.rdb.DoMulti(ctx, cmds...) {
		if err := res.Error(); err != nil {
			c.cfg.Logger.Warn("storing refreshed token failed", "key", key, "error", err)
			return
		}
	}
}

// unlock releases key's lock if owner still holds it. It runs even when
// ctx has ended; the lock would expire anyway, but later.
func (c *Cache) unlock(ctx context.Context, key, owner string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	err := c.release.Exec(ctx, c.rdb, []string{c.lockKey(key)}, []string{owner}).Error()
	if err != nil {
		c.cfg.Logger.Warn("releasing token lock failed", "key", key, "error", err)
	}
}

// Invalidate discards key's token everywhere, for when the vendor rejected
// it: it deletes it from Redis and tells the other instances to drop their
// copy. The next Get refreshes.
func (c *Cache) Invalidate(ctx context.Context, key string) error {
	c.drop(key)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	defer cancel()
	cmds := []rueidis.Completed{
		c.rdb.B().Del().Key(c.cfg.Prefix + key).Build(),
		c.rdb.B().Publish().Channel(c.cfg.Channel).Message(c.id + " " + key).Build(),
	}
	for _, res := range c.rdb.DoMulti(ctx, cmds...) {
		if err := res.Error(); err != nil {
			return fmt.Errorf("invalidate token %s: %w", key, err)
		}
	}
	return nil
}

// drop forgets the local copy of key.
func (c *Cache) drop(key string) {
	c.mu.Lock()
	delete(c.local, key)
	c.mu.Unlock()
}

// Run listens for other instances' refresh notices and drops the local
// copies they name, until ctx ends; then it returns nil. Notices sent while
// no subscription stands are lost, so every time the subscription starts,
// the first time and after it broke, every local copy is dropped. The
// client resubscribes by itself after most failures (its retries), which
// only the subscription's confirmation shows; when Receive does return with
// an error, Run drops the copies too and subscribes again.
func (c *Cache) Run(ctx context.Context) error {
	pause := c.cfg.PollMax
	ctx = rueidis.WithOnSubscriptionHook(ctx, func(s rueidis.PubSubSubscription) {
		if s.Kind == "subscribe" && s.Channel == c.cfg.Channel {
			c.dropAll()
			c.metrics.subscribed()
		}
	})
	for {
		cmd := c.rdb.B().Subscribe().Channel(c.cfg.Channel).Build()
		err := c.rdb.Receive(ctx, cmd, func(m rueidis.PubSubMessage) { c.notice(m.Message) })
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, rueidis.ErrClosing) {
			return fmt.Errorf("subscribe %s: %w", c.cfg.Channel, err)
		}
		c.cfg.Logger.Warn("token notice subscription lost", "error", err)
		c.dropAll()
		if c.pause(ctx, pause) != nil {
			return nil
		}
	}
}

// notice handles one "<instance> <key>" message.
func (c *Cache) notice(msg string) {
	from, key, ok := strings.Cut(msg, " ")
	if !ok || from == c.id {
		return
	}
	c.drop(key)
}

// dropAll forgets every local copy.
func (c *Cache) dropAll() {
	c.mu.Lock()
	clear(c.local)
	c.mu.Unlock()
}
