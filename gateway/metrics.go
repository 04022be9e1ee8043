package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/obs"
)

type metrics struct {
	requests *prometheus.CounterVec
	problems *prometheus.CounterVec
	accepted prometheus.Counter
	// scheduled counts accepted pushes with a send time ahead; started,
	// those whose time came and that this gateway began to route.
	scheduled  prometheus.Counter
	started    prometheus.Counter
	routeS     prometheus.Histogram
	deliveries *prometheus.CounterVec
	fallbacks  *prometheus.CounterVec
	// countsDropped counts pushes whose summed counts were dropped.
	countsDropped prometheus.Counter
	// ackDelay observes how soon messages acknowledged over HTTP were.
	ackDelay prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_gateway_requests_total", Help: "API requests by route.",
		}, []string{"route"}),
		problems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_gateway_problems_total", Help: "API errors by problem type.",
		}, []string{"type"}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_gateway_pushes_accepted_total", Help: "Pushes stored and answered 202.",
		}),
		scheduled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_gateway_pushes_scheduled_total", Help: "Pushes accepted with a send time ahead.",
		}),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_gateway_scheduled_started_total", Help: "Scheduled pushes whose send time came and that this gateway began to route.",
		}),
		routeS: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "push_gateway_route_seconds", Help: "Time to route one push to all its connectors.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_gateway_deliveries_total", Help: "Target devices routed, by outcome.",
		}, []string{"outcome"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_gateway_route_fallbacks_total",
			Help: "Target devices whose owner could not take them, by who did: the next connector on the ring, or the store (appended by the gateway).",
		}, []string{"to"}),
		countsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_gateway_counts_dropped_total",
			Help: "Pushes whose summed counts of HTTP acknowledgements were dropped because too many waited for the store.",
		}),
		ackDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "push_gateway_ack_delay_seconds",
			Help:    "Time from a message's append to its acknowledgement over HTTP, per message newly acked.",
			Buckets: obs.AckDelayBuckets(),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.problems, m.accepted, m.scheduled, m.started, m.routeS, m.deliveries, m.fallbacks, m.countsDropped, m.ackDelay)
	}
	return m
}
