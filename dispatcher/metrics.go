package dispatcher

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a dispatch request, the values of the outcome label.
const (
	outcomeOK = "ok"
)

// Metrics are the dispatcher's Prometheus metrics. One Metrics is shared by
// the Membership (ring size) and the Handler (requests) of a process. A nil
// *Metrics records nothing.
type Metrics struct {
	ringNodes prometheus.Gauge
	requests  *prometheus.CounterVec
}

// NewMetrics creates the dispatcher's metrics and registers them on reg;
// a nil reg leaves them unregistered. It fails when reg already holds
// metrics of the same names.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		ringNodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "push_dispatcher_ring_nodes",
			Help: "Connectors on the current ring, as seen by this process's membership watch.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_dispatcher_requests_total",
			Help: "Dispatch requests by outcome: ok, or the problem type of the refusal.",
		}, []string{"outcome"}),
	}
	for _, o := range []string{outcomeOK, slugBadRequest, slugNoConnectors} {
		m.requests.WithLabelValues(o)
	}
	if reg == nil {
		return m, nil
	}
	var done []prometheus.Collector
	for _, c := range []prometheus.Collector{m.ringNodes, m.requests} {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			return nil, fmt.Errorf("register dispatcher metrics: %w", err)
		}
		done = append(done, c)
	}
	return m, nil
}

func (m *Metrics) setRingNodes(n int) {
	if m != nil {
		m.ringNodes.Set(float64(n))
	}
}

// observe counts one request under outcome; it is also the observe hook of
// httpx.Handle, which passes the problem's slug.
func (m *Metrics) observe(outcome string) {
	if m != nil {
		m.requests.WithLabelValues(outcome).Inc()
	}
}
