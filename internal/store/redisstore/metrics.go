package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
)

// metrics are the store's Prometheus metrics, labelled by shard.
type metrics struct {
	trips   *prometheus.CounterVec
	errors  *prometheus.CounterVec
	seconds *prometheus.HistogramVec
	renewed *prometheus.CounterVec
}

// newMetrics registers the metrics on reg; a nil reg yields nil.
func newMetrics(reg prometheus.Registerer, name string) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	if name != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"store": name}, reg)
	}
	m := &metrics{
		trips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_store_redis_round_trips_total",
			Help: "Round trips to a Redis shard: one per command or pipeline sent, client-side cache hits excluded.",
		}, []string{"shard"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_store_redis_errors_total",
			Help: "Round trips to a Redis shard that failed to get an answer (connection lost, timeout).",
		}, []string{"shard"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "push_store_redis_round_trip_seconds",
			Help:    "Time of one round trip to a Redis shard.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}, []string{"shard"}),
		renewed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_store_redis_streams_renewed_total",
			Help: "Device streams found below the position this node had appended at (the shard lost applied writes), and continued under a new epoch.",
		}, []string{"shard"}),
	}
	for _, c := range []prometheus.Collector{m.trips, m.errors, m.seconds, m.renewed} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("redisstore: register metrics: %w", err)
		}
	}
	return m, nil
}

// streamRenewed counts a stream continued under a new epoch.
func (m *metrics) streamRenewed(shard string) {
	if m != nil {
		m.renewed.WithLabelValues(shard).Inc()
	}
}

// counted wraps a shard's client to count its round trips. Every other
// method goes to the embedded client.
type counted struct {
	rueidis.Client
	trips   prometheus.Counter
	errors  prometheus.Counter
	seconds prometheus.Observer
}

// instrument returns rdb wrapped to feed m under the shard's label, or rdb
// itself without metrics.
func (m *metrics) instrument(rdb rueidis.Client, shard string) rueidis.Client {
	if m == nil {
		return rdb
	}
	return &counted{
		Client:  rdb,
		trips:   m.trips.WithLabelValues(shard),
		errors:  m.errors.WithLabelValues(shard),
		seconds: m.seconds.WithLabelValues(shard),
	}
}

func (c *counted) done(start time.Time, err error) {
	c.trips.Inc()
	c.seconds.Observe(time.Since(start).Seconds())
	if err != nil {
		c.errors.Inc()
	}
}

// Do sends one command.
func (c *counted) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	start := time.Now()
	r := c.Client.Do(ctx, cmd)
	c.done(start, r.NonRedisError())
	return r
}

// DoMulti sends a pipeline.
func (c *counted) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	start := time.Now()
	rs := c.Client.DoMulti(ctx, multi...)
	c.done(start, firstNonRedisError(rs))
	return rs
}

// DoCache sends one cacheable command unless the client-side cache has it.
func (c *counted) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	start := time.Now()
	r := c.Client.DoCache(ctx, cmd, ttl)
	if !r.IsCacheHit() {
		c.done(start, r.NonRedisError())
	}
	return r
}

// DoMultiCache sends the cacheable commands the client-side cache misses,
// as one pipeline.
func (c *counted) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	start := time.Now()
	rs := c.Client.DoMultiCache(ctx, multi...)
	for _, r := range rs {
		if !r.IsCacheHit() {
			c.done(start, firstNonRedisError(rs))
			break
		}
	}
	return rs
}

func firstNonRedisError(rs []rueidis.RedisResult) error {
	for _, r := range rs {
		if err := r.NonRedisError(); err != nil {
			return err
		}
	}
	return nil
}
