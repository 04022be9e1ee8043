package taskcontainer

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	jobs  *prometheus.CounterVec
	pages prometheus.Counter
	sent  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_taskcontainer_jobs_total",
			Help: "Campaign jobs handled, by result: settled (acked), waiting (for the send time), failed (retried).",
		}, []string{"result"}),
		pages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_taskcontainer_pages_total", Help: "Campaign pages sent and checkpointed.",
		}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_taskcontainer_devices_total", Help: "Devices campaigns sent to.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.jobs, m.pages, m.sent)
	}
	return m
}
