package tokencache

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mopush/mopush/internal/testsrv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const key = "apns:TEAM1234:KEY5678"

// newClient connects a rueidis client to srv, closed at the test's end.
func newClient(t *testing.T, srv *testsrv.Redis) rueidis.Client {
	t.Helper()
	rdb, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}})
	require.NoError(t, err)
	t.Cleanup(rdb.Close)
	return rdb
}

// newInstance builds a Cache on its own client, as a separate process
// would have.
func newInstance(t *testing.T, srv *testsrv.Redis, cfg Config) *Cache {
	t.Helper()
	if cfg.PollMin == 0 {
		cfg.PollMin, cfg.PollMax = time.Millisecond, 20*time.Millisecond
	}
	c, err := New(cfg, newClient(t, srv))
	require.NoError(t, err)
	return c
}

// runNotices runs c.Run until the test ends and waits for it to return.
func runNotices(t *testing.T, c *Cache) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// counting returns a refresh function that counts its calls and mints
// value valid for life.
func counting(calls *atomic.Int64, value string, life time.Duration) RefreshFunc {
	return func(context.Context) (string, time.Time, error) {
		calls.Add(1)
		return value, time.Now().Add(life), nil
	}
}

func exists(t *testing.T, rdb rueidis.Client, k string) bool {
	t.Helper()
	n, err := rdb.Do(t.Context(), rdb.B().Exists().Key(k).Build()).AsInt64()
	require.NoError(t, err)
	return n == 1
}

func (c *Cache) hasFlight(k string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.flights[k]
	return ok
}

func (c *Cache) hasLocal(k string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.local[k]
	return ok
}

// gets returns the counters of reg by "name/label value", or by name for a
// counter without labels.
func gets(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			if labels := m.GetLabel(); len(labels) > 0 {
				name += "/" + labels[0].GetValue()
			}
			out[name] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestOneRefreshAcrossInstances: 200 callers on 4 instances find the shared
// token about to expire; exactly one refresh runs and all get its token.
func TestOneRefreshAcrossInstances(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	regs := make([]*prometheus.Registry, 4)
	caches := make([]*Cache, 4)
	for i := range caches {
		regs[i] = prometheus.NewPedanticRegistry()
		caches[i] = newInstance(t, srv, Config{Registerer: regs[i]})
	}
	// A token one minute from expiry: inside the five-minute margin.
	seed := newClient(t, srv)
	old := token{value: "old", issued: time.Now().Add(-59 * time.Minute), expires: time.Now().Add(time.Minute)}
	require.NoError(t, seed.Do(ctx, seed.B().Set().Key(DefaultPrefix+key).Value(old.encode()).Px(time.Minute).Build()).Error())

	var calls atomic.Int64
	release := make(chan struct{})
	refresh := func(ctx context.Context) (string, time.Time, error) {
		calls.Add(1)
		select {
		case <-release:
			return "new", time.Now().Add(time.Hour), nil
		case <-ctx.Done():
			return "", time.Time{}, ctx.Err()
		}
	}
	type result struct {
		tok string
		err error
	}
	const callers = 200
	start := make(chan struct{})
	results := make(chan result, callers)
	for i := range callers {
		go func() {
			<-start
			tok, err := caches[i%len(caches)].Get(ctx, key, refresh)
			results <- result{tok, err}
		}()
	}
	close(start)
	// Hold the refresh until every instance has its own lookup under way,
	// so the other three really contend for the lock.
	testsrv.WaitFor(t, 10*time.Second, func() bool {
		for _, c := range caches {
			if !c.hasFlight(key) {
				return false
			}
		}
		return calls.Load() == 1
	})
	close(release)
	for range callers {
		r := <-results
		require.NoError(t, r.err)
		require.Equal(t, "new", r.tok)
	}
	require.Equal(t, int64(1), calls.Load(), "exactly one refresh in the cluster")
	require.False(t, exists(t, seed, DefaultPrefix+key+":lock"), "the lock was released")

	var total, refreshed float64
	for _, reg := range regs {
		g := gets(t, reg)
		for _, src := range []string{sourceLocal, sourceRedis, sourceRefreshed, sourceWaited, sourceShared} {
			total += g["push_store_tokencache_gets_total/"+src]
		}
		refreshed += g["push_store_tokencache_refreshes_total/ok"]
	}
	require.Equal(t, float64(callers), total)
	require.Equal(t, 1.0, refreshed)
}

// TestLockHolderCrashed: a lock left by a dead instance expires and the
// next caller refreshes.
func TestLockHolderCrashed(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	rdb := newClient(t, srv)
	lock := DefaultPrefix + key + ":lock"
	require.NoError(t, rdb.Do(ctx, rdb.B().Set().Key(lock).Value("dead-instance").Px(300*time.Millisecond).Build()).Error())

	c := newInstance(t, srv, Config{})
	var calls atomic.Int64
	tok, err := c.Get(ctx, key, counting(&calls, "fresh", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "fresh", tok)
	require.Equal(t, int64(1), calls.Load())
	require.False(t, exists(t, rdb, lock))
}

// TestRefresherOutlivesItsLock: an instance whose refresh hangs loses its
// lock when the lock expires; another instance takes over, and the late
// release of the first does not remove the second's lock.
func TestRefresherOutlivesItsLock(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	cfg := Config{LockTTL: 300 * time.Millisecond}
	hung, healthy := newInstance(t, srv, cfg), newInstance(t, srv, cfg)

	entered := make(chan struct{})
	hangs := func(ctx context.Context) (string, time.Time, error) {
		close(entered)
		<-ctx.Done() // ends when the lock does
		return "", time.Time{}, ctx.Err()
	}
	hungErr := make(chan error, 1)
	go func() {
		_, err := hung.Get(ctx, key, hangs)
		hungErr <- err
	}()
	<-entered
	var calls atomic.Int64
	tok, err := healthy.Get(ctx, key, counting(&calls, "fresh", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "fresh", tok)
	require.Equal(t, int64(1), calls.Load())
	require.ErrorIs(t, <-hungErr, context.DeadlineExceeded)
}

func TestReleaseOnlyOwnLock(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	c := newInstance(t, srv, Config{})
	rdb := newClient(t, srv)

	owner, ok, err := c.lock(ctx, key)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = c.lock(ctx, key)
	require.NoError(t, err)
	require.False(t, ok, "the lock is exclusive")

	// Our lock expired and another instance took it.
	require.NoError(t, rdb.Do(ctx, rdb.B().Set().Key(c.lockKey(key)).Value("successor").Build()).Error())
	c.unlock(ctx, key, owner)
	v, err := rdb.Do(ctx, rdb.B().Get().Key(c.lockKey(key)).Build()).ToString()
	require.NoError(t, err)
	require.Equal(t, "successor", v)
}

// TestRefreshErrorDoesNotPoison: the refresh error reaches the caller,
// nothing is stored, the lock is freed, and the next Get refreshes.
func TestRefreshErrorDoesNotPoison(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	rdb := newClient(t, srv)
	c := newInstance(t, srv, Config{})
	boom := errors.New("vendor oauth endpoint down")
	var calls atomic.Int64
	failing := func(context.Context) (string, time.Time, error) {
		calls.Add(1)
		return "", time.Time{}, boom
	}

	_, err := c.Get(ctx, key, failing)
	require.ErrorIs(t, err, boom)
	require.False(t, exists(t, rdb, DefaultPrefix+key))
	require.False(t, exists(t, rdb, c.lockKey(key)))
	require.False(t, c.hasLocal(key))

	for name, bad := range map[string]RefreshFunc{
		"empty":   func(context.Context) (string, time.Time, error) { return "", time.Now().Add(time.Hour), nil },
		"expired": func(context.Context) (string, time.Time, error) { return "x", time.Now().Add(-time.Second), nil },
	} {
		_, err := c.Get(ctx, key, bad)
		require.ErrorIs(t, err, ErrBadToken, name)
	}

	tok, err := c.Get(ctx, key, counting(&calls, "good", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "good", tok)
	require.Equal(t, int64(2), calls.Load())
}

// TestNoticesDropLocalCopies: Invalidate on one instance makes the others
// drop their copy through the pub/sub channel.
func TestNoticesDropLocalCopies(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	reg := prometheus.NewPedanticRegistry()
	regB := prometheus.NewPedanticRegistry()
	a := newInstance(t, srv, Config{Registerer: reg})
	b := newInstance(t, srv, Config{Registerer: regB})
	runNotices(t, a)
	runNotices(t, b)
	// Both subscribed, and both clients read the confirmation (which drops
	// the local copies).
	testsrv.WaitFor(t, 10*time.Second, func() bool { return subscriptions(t, reg) == 1 && subscriptions(t, regB) == 1 })

	var calls atomic.Int64
	tok, err := a.Get(ctx, key, counting(&calls, "t1", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "t1", tok)
	tok, err = a.Get(ctx, key, counting(&calls, "unused", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "t1", tok)
	require.Equal(t, 1.0, gets(t, reg)["push_store_tokencache_gets_total/local"])
	require.True(t, a.hasLocal(key), "an instance ignores its own notice")

	tok, err = b.Get(ctx, key, counting(&calls, "unused", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "t1", tok, "b reads a's token from Redis")
	require.Equal(t, int64(1), calls.Load())

	require.NoError(t, b.Invalidate(ctx, key))
	testsrv.WaitFor(t, 10*time.Second, func() bool { return !a.hasLocal(key) })
	tok, err = a.Get(ctx, key, counting(&calls, "t2", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "t2", tok)
	require.Equal(t, int64(2), calls.Load())
}

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestRefreshMargin(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	clock := &fakeClock{}
	clock.ns.Store(time.Now().UnixNano())
	c := newInstance(t, srv, Config{Now: clock.Now})
	var calls atomic.Int64
	refresh := func(life time.Duration) RefreshFunc {
		return func(context.Context) (string, time.Time, error) {
			calls.Add(1)
			return "tok", clock.Now().Add(life), nil
		}
	}
	get := func(life time.Duration) {
		t.Helper()
		_, err := c.Get(ctx, key, refresh(life))
		require.NoError(t, err)
	}

	get(time.Hour)
	clock.Advance(55*time.Minute - time.Millisecond)
	get(time.Hour)
	require.Equal(t, int64(1), calls.Load(), "not yet inside the five-minute margin")
	clock.Advance(time.Millisecond)
	get(2 * time.Minute)
	require.Equal(t, int64(2), calls.Load(), "inside the margin")

	// A two-minute token is replaced half way, not five minutes early.
	clock.Advance(time.Minute - time.Millisecond)
	get(2 * time.Minute)
	require.Equal(t, int64(2), calls.Load())
	clock.Advance(time.Millisecond)
	get(2 * time.Minute)
	require.Equal(t, int64(3), calls.Load())
}

// TestWaitEndsWithContext: a caller waiting for another instance's refresh
// gives up when its context ends, without refreshing.
func TestWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	rdb := newClient(t, srv)
	c := newInstance(t, srv, Config{})
	require.NoError(t, rdb.Do(t.Context(), rdb.B().Set().Key(c.lockKey(key)).Value("busy").Px(time.Hour).Build()).Error())

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	var calls atomic.Int64
	_, err := c.Get(ctx, key, counting(&calls, "x", time.Hour))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Zero(t, calls.Load())
}

// lateTimer is a context whose deadline has passed but whose timer has not
// fired yet, as happens on a busy machine.
type lateTimer struct {
	context.Context
	deadline time.Time
}

func (c lateTimer) Deadline() (time.Time, bool) { return c.deadline, true }

// TestPassedDeadlineIsNotRedisFailure: a Redis command that fails because
// the caller's deadline has passed does not make Get refresh unshared, even
// when the context's own timer is late.
func TestPassedDeadlineIsNotRedisFailure(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	c := newInstance(t, srv, Config{})
	ctx := lateTimer{Context: t.Context(), deadline: time.Now().Add(-time.Millisecond)}
	require.NoError(t, ctx.Err())
	var calls atomic.Int64
	_, err := c.Get(ctx, key, counting(&calls, "x", time.Hour))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Zero(t, calls.Load(), "no token minted for a caller whose deadline passed")
}

// TestWaiterTakesOverFromCancelledLeader: when the caller doing the lookup
// for its process goes away, a caller that joined it carries on.
func TestWaiterTakesOverFromCancelledLeader(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	rdb := newClient(t, srv)
	c := newInstance(t, srv, Config{})
	ctx := t.Context()
	require.NoError(t, rdb.Do(ctx, rdb.B().Set().Key(c.lockKey(key)).Value("busy").Px(time.Hour).Build()).Error())

	var calls atomic.Int64
	leaderCtx, cancelLeader := context.WithCancel(ctx)
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.Get(leaderCtx, key, counting(&calls, "x", time.Hour))
		leaderErr <- err
	}()
	testsrv.WaitFor(t, 10*time.Second, func() bool { return c.hasFlight(key) })
	waiterTok := make(chan string, 1)
	go func() {
		tok, err := c.Get(ctx, key, counting(&calls, "x", time.Hour))
		if err != nil {
			tok = err.Error()
		}
		waiterTok <- tok
	}()
	testsrv.WaitFor(t, 10*time.Second, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		f := c.flights[key]
		return f != nil && f.waiters == 1
	})
	cancelLeader()
	require.ErrorIs(t, <-leaderErr, context.Canceled)
	require.NoError(t, rdb.Do(ctx, rdb.B().Del().Key(c.lockKey(key)).Build()).Error())
	require.Equal(t, "x", <-waiterTok)
	require.Equal(t, int64(1), calls.Load())
}

func TestTokenEncoding(t *testing.T) {
	t.Parallel()
	tok := token{value: "eyJ:with:colons", issued: time.UnixMilli(1000), expires: time.UnixMilli(5000)}
	got, err := decode(tok.encode())
	require.NoError(t, err)
	require.Equal(t, tok.value, got.value)
	require.True(t, tok.issued.Equal(got.issued))
	require.True(t, tok.expires.Equal(got.expires))
	for _, bad := range []string{"", "v1:1:2", "v2:1:2:x", "v1:a:2:x", "v1:5:1:x", "v1:1:2:"} {
		_, err := decode(bad)
		require.ErrorIs(t, err, errCorrupt, bad)
	}
}

// TestRedisDown: without Redis, Get refreshes on its own; once Redis is
// back, tokens are shared again.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	clock := &fakeClock{}
	clock.ns.Store(time.Now().UnixNano())
	a := newInstance(t, srv, Config{OpTimeout: 100 * time.Millisecond, Now: clock.Now})
	b := newInstance(t, srv, Config{OpTimeout: 100 * time.Millisecond})

	srv.Kill()
	var calls atomic.Int64
	tok, err := a.Get(ctx, key, counting(&calls, "alone", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "alone", tok)
	tok, err = a.Get(ctx, key, counting(&calls, "unused", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "alone", tok, "the unshared token is kept locally")
	require.Equal(t, int64(1), calls.Load())

	require.NoError(t, srv.Restart())
	clock.Advance(DefaultLocalTTL) // a's local copy is due for a Redis check
	for _, c := range []*Cache{a, b} {
		testsrv.WaitFor(t, 10*time.Second, func() bool {
			return c.rdb.Do(ctx, c.rdb.B().Ping().Build()).Error() == nil
		})
	}
	tok, err = a.Get(ctx, key, counting(&calls, "shared", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "shared", tok)
	tok, err = b.Get(ctx, key, counting(&calls, "unused", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "shared", tok, "b reads the token a stored")
	require.Equal(t, int64(2), calls.Load())
}

// TestLostSubscriptionDropsLocalCopies: when the notice subscription
// breaks (here its connection is killed), notices sent meanwhile may be
// lost, so the instance forgets its local copies, subscribes again, and
// keeps following notices.
func TestLostSubscriptionDropsLocalCopies(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	ctx := t.Context()
	reg := prometheus.NewPedanticRegistry()
	a := newInstance(t, srv, Config{Registerer: reg})
	b := newInstance(t, srv, Config{})
	runNotices(t, a)
	rdb := newClient(t, srv)
	subscribers := func() int64 {
		subs, err := rdb.Do(ctx, rdb.B().PubsubNumsub().Channel(DefaultChannel).Build()).AsIntMap()
		require.NoError(t, err)
		return subs[DefaultChannel]
	}
	testsrv.WaitFor(t, 10*time.Second, func() bool { return subscriptions(t, reg) == 1 })

	var calls atomic.Int64
	_, err := a.Get(ctx, key, counting(&calls, "t1", time.Hour))
	require.NoError(t, err)
	require.True(t, a.hasLocal(key))

	killed, err := rdb.Do(ctx, rdb.B().ClientKill().TypePubsub().Build()).AsInt64()
	require.NoError(t, err)
	require.Equal(t, int64(1), killed)
	testsrv.WaitFor(t, 10*time.Second, func() bool { return subscriptions(t, reg) == 2 })
	require.False(t, a.hasLocal(key), "the new subscription dropped the local copy")
	require.Equal(t, int64(1), subscribers())

	tok, err := a.Get(ctx, key, counting(&calls, "unused", time.Hour))
	require.NoError(t, err)
	require.Equal(t, "t1", tok, "read back from Redis, not refreshed")
	require.Equal(t, int64(1), calls.Load())
	require.True(t, a.hasLocal(key))
	require.NoError(t, b.Invalidate(ctx, key))
	testsrv.WaitFor(t, 10*time.Second, func() bool { return !a.hasLocal(key) })
	require.Equal(t, 2.0, subscriptions(t, reg))
}

// subscriptions returns how many notice subscriptions of the instance
// with registry reg started.
func subscriptions(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	return gets(t, reg)["push_store_tokencache_subscriptions_total"]
}
