package obstest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestValue(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "c"}, []string{"kind", "to"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g", Help: "g"})
	reg.MustRegister(c, g)
	c.WithLabelValues("a", "x").Add(1)
	c.WithLabelValues("a", "y").Add(2)
	c.WithLabelValues("b", "x").Add(4)
	g.Set(7)

	require.Equal(t, 7.0, Value(t, reg, "c_total", nil))
	require.Equal(t, 3.0, Value(t, reg, "c_total", map[string]string{"kind": "a"}))
	require.Equal(t, 4.0, Value(t, reg, "c_total", map[string]string{"kind": "b", "to": "x"}))
	require.Zero(t, Value(t, reg, "c_total", map[string]string{"kind": "c"}))
	require.Zero(t, Value(t, reg, "missing", nil))
	require.Equal(t, 7.0, Value(t, reg, "g", nil))
}
