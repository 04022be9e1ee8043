package batch

import (
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a writer's Prometheus metrics. A nil *metrics records nothing.
type metrics struct {
	flushSize    prometheus.Histogram
	flushSeconds prometheus.Histogram
	queueDepth   prometheus.Gauge
	errors       prometheus.Counter
	dropped      prometheus.Counter
}

// newMetrics registers the metrics on reg; nil reg yields nil. Writers with
// the same name on one registry share their metrics. It panics when reg
// holds different metrics under these names, as prometheus.MustRegister
// does.
func newMetrics(reg prometheus.Registerer, name string, maxBatch int) *metrics {
	if reg == nil {
		return nil
	}
	if name != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"writer": name}, reg)
	}
	sizeBuckets := int(math.Ceil(math.Log2(float64(maxBatch)))) + 1
	m := &metrics{
		flushSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "push_store_batch_flush_size",
			Help:    "Items per flushed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, max(sizeBuckets, 1)),
		}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "push_store_batch_flush_seconds",
			Help:    "Time one flush of a batch took.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "push_store_batch_queue_depth",
			Help: "Items waiting for a worker, sampled at each flush.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_store_batch_errors_total",
			Help: "Flushes that returned an error.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_store_batch_dropped_total",
			Help: "Items failed unflushed because the drain at shutdown ran out of time.",
		}),
	}
	m.flushSize = register(reg, m.flushSize)
	m.flushSeconds = register(reg, m.flushSeconds)
	m.queueDepth = register(reg, m.queueDepth)
	m.errors = register(reg, m.errors)
	m.dropped = register(reg, m.dropped)
	return m
}

// register registers c, or returns the equal collector already registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(fmt.Sprintf("register batch metrics: %v", err))
}

func (m *metrics) flushed(size int, seconds float64, failed bool, depth int) {
	if m == nil {
		return
	}
	m.flushSize.Observe(float64(size))
	m.flushSeconds.Observe(seconds)
	m.queueDepth.Set(float64(depth))
	if failed {
		m.errors.Inc()
	}
}

func (m *metrics) drop(n int) {
	if m != nil {
		m.dropped.Add(float64(n))
	}
}
