package tokencache

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Where a Get found its token.
const (
	sourceLocal     = "local"     // this instance's memory
	sourceRedis     = "redis"     // Redis, fresh
	sourceRefreshed = "refreshed" // this instance refreshed it
	sourceWaited    = "waited"    // Redis, after waiting for another refresher
	sourceShared    = "shared"    // another Get of this process looked it up
)

// metrics are the token cache's Prometheus metrics. A nil *metrics records
// nothing.
type metrics struct {
	gets          *prometheus.CounterVec
	refreshes     *prometheus.CounterVec
	subscriptions prometheus.Counter
}

// newMetrics registers the metrics on reg; nil reg yields nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		gets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_store_tokencache_gets_total",
			Help: "Vendor token lookups that succeeded, by where the token came from: local, redis, refreshed, waited (for another instance), shared (with a concurrent Get here).",
		}, []string{"source"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_store_tokencache_refreshes_total",
			Help: "Calls of a vendor token refresh function, by result: ok or error.",
		}, []string{"result"}),
		subscriptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_store_tokencache_subscriptions_total",
			Help: "Subscriptions to the token notice channel that started; each drops the local copies. More than one means the subscription broke and was made again.",
		}),
	}
	for _, c := range []prometheus.Collector{m.gets, m.refreshes, m.subscriptions} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register token cache metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) get(source string) {
	if m != nil {
		m.gets.WithLabelValues(source).Inc()
	}
}

func (m *metrics) refreshed(ok bool) {
	if m == nil {
		return
	}
	result := "ok"
	if !ok {
		result = "error"
	}
	m.refreshes.WithLabelValues(result).Inc()
}

func (m *metrics) subscribed() {
	if m != nil {
		m.subscriptions.Inc()
	}
}
