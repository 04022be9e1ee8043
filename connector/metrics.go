package connector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/obs"
)

// metrics of one connector.
type metrics struct {
	sessions    prometheus.Gauge
	handshakes  *prometheus.CounterVec
	handshakeS  prometheus.Histogram
	framesIn    *prometheus.CounterVec
	deliveries  *prometheus.CounterVec
	disconnects *prometheus.CounterVec
	catchUps    *prometheus.CounterVec
	repeats     prometheus.Counter
	// announced counts live sessions that took a message another node
	// appended (Connector.Appended).
	announced prometheus.Counter
	helloAcks prometheus.Counter
	// countsDropped counts pushes whose summed counts were dropped.
	countsDropped prometheus.Counter
	// engagements counts open and click reports by kind and result.
	engagements *prometheus.CounterVec
	// ackDelay observes how long after its append each message was
	// acknowledged.
	ackDelay prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "push_connector_sessions", Help: "Live device sessions.",
		}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_connector_handshakes_total", Help: "Handshakes by outcome.",
		}, []string{"outcome"}),
		handshakeS: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "push_connector_handshake_seconds", Help: "Time from upgrade to welcome.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		engagements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_connector_engagements_total",
			Help: "Open and click reports by kind and result: counted, repeated (counted before), unknown_push, foreign_push (a push of another app), invalid, unsupported, error.",
		}, []string{"kind", "result"}),
		framesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_connector_frames_received_total", Help: "Sealed frames received, by type.",
		}, []string{"type"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_connector_deliveries_total", Help: "Devices in delivered batches, by outcome.",
		}, []string{"outcome"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_connector_disconnects_total", Help: "Sessions closed by the server, by code.",
		}, []string{"code"}),
		catchUps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_connector_catchups_total",
			Help: "Catch-ups of a live session from the store (a message it could not take in order), by stream; the first replay of a session is not counted.",
		}, []string{"stream"}),
		repeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_connector_repeats_skipped_total",
			Help: "Devices of retried batches whose stream already held the message, which was not appended again.",
		}),
		announced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_connector_announced_offers_total",
			Help: "Live sessions that took a message the gateway appended to their device's stream itself, when no connector took it.",
		}),
		ackDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "push_connector_ack_delay_seconds",
			Help:    "Time from a message's append to the device's stream to its acknowledgement, per message newly acked.",
			Buckets: obs.AckDelayBuckets(),
		}),
		helloAcks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_connector_hello_acks_total",
			Help: "Messages first acknowledged by a Hello's position: their Ack frame was lost with the device's last connection.",
		}),
		countsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_connector_counts_dropped_total",
			Help: "Pushes whose summed counts were dropped because too many waited for the store.",
		}),
	}
	for _, stream := range []string{"own", "broadcast"} {
		m.catchUps.WithLabelValues(stream) // exported at 0 from the start
	}
	if reg != nil {
		reg.MustRegister(m.sessions, m.handshakes, m.handshakeS, m.framesIn, m.deliveries, m.disconnects, m.catchUps, m.repeats, m.helloAcks, m.countsDropped, m.announced, m.engagements, m.ackDelay)
	}
	return m
}
