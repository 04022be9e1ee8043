package portal

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests *prometheus.CounterVec
	problems *prometheus.CounterVec
	signIns  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_portal_requests_total", Help: "Portal API requests by endpoint.",
		}, []string{"endpoint"}),
		problems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_portal_problems_total", Help: "Portal API requests answered with a problem, by its type.",
		}, []string{"type"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_portal_sign_ins_total", Help: "Sign-in attempts by result (ok, refused, throttled).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.problems, m.signIns)
	}
	return m
}
