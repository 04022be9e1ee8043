package cache

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the cache's Prometheus metrics. A nil *metrics records
// nothing.
type metrics struct {
	hits        prometheus.Counter
	misses      prometheus.Counter
	evictions   [EvictFailed + 1]prometheus.Counter // by EvictReason
	spillErrors prometheus.Counter
}

// newMetrics registers the metrics of c on reg; a nil reg yields nil.
func newMetrics(reg prometheus.Registerer, name string, c *Cache) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	if name != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"cache": name}, reg)
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "push_store_cache_requests_total",
		Help: "Reads of the in-process cache, by result (hit or miss).",
	}, []string{"result"})
	evictions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "push_store_cache_evictions_total",
		Help: "Entries that left the in-process cache, by reason.",
	}, []string{"reason"})
	m := &metrics{
		hits:   requests.WithLabelValues("hit"),
		misses: requests.WithLabelValues("miss"),
		spillErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_store_cache_spill_errors_total",
			Help: "Failed reads, writes and deletes of the cache's spill store.",
		}),
	}
	for r := EvictExpired; r <= EvictFailed; r++ {
		m.evictions[r] = evictions.WithLabelValues(r.String())
	}
	collectors := []prometheus.Collector{requests, evictions, m.spillErrors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "push_store_cache_size_bytes",
			Help: "Cost of the entries the in-process cache holds (keys, values and per-entry overhead).",
		}, func() float64 { return float64(c.Bytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "push_store_cache_capacity_bytes",
			Help: "Byte cap of the in-process cache.",
		}, func() float64 { return float64(c.Cap()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "push_store_cache_entries",
			Help: "Entries the in-process cache holds.",
		}, func() float64 { return float64(c.Len()) }),
	}
	for _, col := range collectors {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("register cache metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) hit() {
	if m != nil {
		m.hits.Inc()
	}
}

func (m *metrics) miss() {
	if m != nil {
		m.misses.Inc()
	}
}

func (m *metrics) evicted(r EvictReason) {
	if m != nil && r > 0 && int(r) < len(m.evictions) {
		m.evictions[r].Inc()
	}
}

func (m *metrics) spillError() {
	if m != nil {
		m.spillErrors.Inc()
	}
}
