package tiered

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the layer's own metrics; the tiers register theirs.
type metrics struct {
	degraded *prometheus.CounterVec
	lookups  *prometheus.CounterVec
	reports  *prometheus.CounterVec
	dropped  prometheus.Counter
	reads    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		degraded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_store_tier_degraded_total",
			Help: "Calls to one shard of a tier that failed, so that its keys were read from the next tier or its update was skipped.",
		}, []string{"tier", "shard"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_store_tier_lookups_total",
			Help: "Device keys looked up in a tier, by result: hit or miss.",
		}, []string{"tier", "result"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_store_tier_reports_total",
			Help: "Device reports flushed, by result: applied, unchanged, unknown (no such device) or failed.",
		}, []string{"result"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_store_tier_repairs_dropped_total",
			Help: "Devices whose L1 entry may be stale but that the full repair list could not take; L1's TTL bounds them.",
		}),
		reads: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "push_store_tier_read_seconds",
			Help:    "Time of one multi-device read through the tiers.",
			Buckets: prometheus.ExponentialBuckets(0.00002, 2, 18),
		}),
	}
	for _, c := range []prometheus.Collector{m.degraded, m.lookups, m.reports, m.dropped, m.reads} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("tiered: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) degrade(tier, shard string) {
	if m != nil {
		m.degraded.WithLabelValues(tier, shard).Inc()
	}
}

func (m *metrics) lookup(tier string, hits, misses int) {
	if m == nil {
		return
	}
	if hits > 0 {
		m.lookups.WithLabelValues(tier, "hit").Add(float64(hits))
	}
	if misses > 0 {
		m.lookups.WithLabelValues(tier, "miss").Add(float64(misses))
	}
}

func (m *metrics) report(result string, n int) {
	if m != nil && n > 0 {
		m.reports.WithLabelValues(result).Add(float64(n))
	}
}

func (m *metrics) repairsDropped(n int) {
	if m != nil && n > 0 {
		m.dropped.Add(float64(n))
	}
}

func (m *metrics) read(seconds float64) {
	if m != nil {
		m.reads.Observe(seconds)
	}
}
