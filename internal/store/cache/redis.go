package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
)

// Invalidator drops keys that another node changed. *Cache satisfies it; so
// can anything else that keeps copies of L1 data.
type Invalidator interface {
	// Invalidate drops the keys.
	Invalidate(keys ...string)
	// InvalidateAll drops everything, for when invalidations may have been
	// lost.
	InvalidateAll()
}

// InvalidationHook returns a function to install as the OnInvalidations
// option of the rueidis client whose reads fill inv: each key Redis reports
// as changed is dropped from inv, and a lost tracking connection (reported
// as a nil list) drops everything. rueidis calls it on its connection's
// reading goroutine, so inv must be quick, as Cache.Invalidate is.
func InvalidationHook(inv Invalidator) func([]rueidis.RedisMessage) {
	return func(msgs []rueidis.RedisMessage) {
		if msgs == nil {
			inv.InvalidateAll()
			return
		}
		keys := make([]string, 0, len(msgs))
		for _, m := range msgs {
			if k, err := m.ToString(); err == nil {
				keys = append(keys, k)
			}
		}
		inv.Invalidate(keys...)
	}
}

// DefaultLocalTTL is how long RedisTier lets rueidis keep a value locally by
// default.
const DefaultLocalTTL = time.Minute

// RedisTierConfig configures a RedisTier. Zero fields take the documented
// defaults.
type RedisTierConfig struct {
	// LocalTTL caps how long a value read from Redis is served from the
	// client's memory; Redis's own TTL of the key caps it further, and an
	// invalidation ends it at once. Default one minute.
	LocalTTL time.Duration
	// Name, when set, becomes the "cache" label of the metrics.
	Name string
	// Registerer receives the metrics. Default nil: no metrics.
	Registerer prometheus.Registerer
}

// RedisTier is L1 read through Redis with server-assisted client-side
// caching: reads go through rueidis DoCache and DoMultiCache, so a repeated
// read is served from the client's memory until Redis reports (RESP3
// CLIENT TRACKING) that any client changed the key. The client must speak
// RESP3 with caching enabled, rueidis's default.
type RedisTier struct {
	rdb   rueidis.Client
	ttl   time.Duration
	reads *prometheus.CounterVec // nil without a registerer
}

// NewRedisTier wraps rdb. It fails only when the metrics cannot be
// registered.
func NewRedisTier(cfg RedisTierConfig, rdb rueidis.Client) (*RedisTier, error) {
	if cfg.LocalTTL <= 0 {
		cfg.LocalTTL = DefaultLocalTTL
	}
	t := &RedisTier{rdb: rdb, ttl: cfg.LocalTTL}
	if cfg.Registerer == nil {
		return t, nil
	}
	reg := cfg.Registerer
	if cfg.Name != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"cache": cfg.Name}, reg)
	}
	t.reads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "push_store_cache_redis_reads_total",
		Help: "Reads through the Redis tier, by result: local_hit (client-side cache), remote_hit, miss, error.",
	}, []string{"result"})
	if err := reg.Register(t.reads); err != nil {
		return nil, fmt.Errorf("register redis tier metrics: %w", err)
	}
	return t, nil
}

// Get returns the value of key and whether it exists.
func (t *RedisTier) Get(ctx context.Context, key string) ([]byte, bool, error) {
	res := t.rdb.DoCache(ctx, t.rdb.B().Get().Key(key).Cache(), t.ttl)
	val, ok, err := t.result(res)
	if err != nil {
		return nil, false, fmt.Errorf("redis get: %w", err)
	}
	return val, ok, nil
}

// GetMulti returns the values of keys by position, nil where a key does not
// exist, in one pipelined round trip for the keys not cached locally.
func (t *RedisTier) GetMulti(ctx context.Context, keys []string) ([][]byte, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	cmds := make([]rueidis.CacheableTTL, len(keys))
	for i, k := range keys {
		cmds[i] = rueidis.CT(t.rdb.B().Get().Key(k).Cache(), t.ttl)
	}
	out := make([][]byte, len(keys))
	for i, res := range t.rdb.DoMultiCache(ctx, cmds...) {
		val, _, err := t.result(res)
		if err != nil {
			return nil, fmt.Errorf("redis get %d keys: %w", len(keys), err)
		}
		out[i] = val
	}
	return out, nil
}

// result decodes one GET reply and counts it.
func (t *RedisTier) result(res rueidis.RedisResult) ([]byte, bool, error) {
	val, err := res.AsBytes()
	switch {
	case rueidis.IsRedisNil(err):
		t.count("miss")
		return nil, false, nil
	case err != nil:
		t.count("error")
		return nil, false, err
	case res.IsCacheHit():
		t.count("local_hit")
	default:
		t.count("remote_hit")
	}
	if val == nil {
		val = []byte{}
	}
	return val, true, nil
}

// count adds one read with result to the metrics.
func (t *RedisTier) count(result string) {
	if t.reads != nil {
		t.reads.WithLabelValues(result).Inc()
	}
}

// Set stores val under key for ttl; ttl <= 0 means no expiry. Every client
// that holds the key locally is told to drop it.
func (t *RedisTier) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	var cmd rueidis.Completed
	if ttl > 0 {
		cmd = t.rdb.B().Set().Key(key).Value(rueidis.BinaryString(val)).Px(ttl).Build()
	} else {
		cmd = t.rdb.B().Set().Key(key).Value(rueidis.BinaryString(val)).Build()
	}
	if err := t.rdb.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("redis set: %w", err)
	}
	return nil
}

// Delete removes the keys; clients holding them locally are told to drop
// them.
func (t *RedisTier) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := t.rdb.Do(ctx, t.rdb.B().Del().Key(keys...).Build()).Error(); err != nil {
		return fmt.Errorf("redis del: %w", err)
	}
	return nil
}
