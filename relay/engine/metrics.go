package engine

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	outcomes *prometheus.CounterVec
	sends    *prometheus.CounterVec
	sendS    *prometheus.HistogramVec
	handleS  *prometheus.HistogramVec
	// countsDropped counts pushes whose summed counts were dropped.
	countsDropped prometheus.Counter
	// acksRecorded counts acknowledged targets whose outcome a check
	// recorded.
	acksRecorded prometheus.Counter
	// gone counts checks whose message its stream no longer held.
	gone prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_relay_outcomes_total", Help: "Targets ended by the relay, by outcome.",
		}, []string{"outcome"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_relay_sends_total", Help: "Vendor send attempts, by vendor and result.",
		}, []string{"vendor", "result"}),
		sendS: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "push_relay_send_seconds", Help: "Time of one vendor send.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"vendor"}),
		handleS: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "push_relay_job_seconds", Help: "Time to handle one relay job, vendor call included, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"kind"}),
		countsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_relay_counts_dropped_total",
			Help: "Pushes whose summed counts were dropped because too many waited for the store.",
		}),
		acksRecorded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_relay_acks_recorded_total",
			Help: "Targets a fallback check found acknowledged (by the ack watermark) with no outcome, and recorded as acked.",
		}),
		gone: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_relay_messages_gone_total",
			Help: "Fallback checks whose message was no longer at its position in the device's stream (the stream lost it); each is relayed as a target outside the stream.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.outcomes, m.sends, m.sendS, m.handleS, m.countsDropped, m.acksRecorded, m.gone)
	}
	return m
}
