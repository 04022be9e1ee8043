package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const metricsFixture = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 2192
process_resident_memory_bytes 3.2735232e+07
push_connector_sessions{node_id="connector-1"} 1000
push_connector_sessions{node_id="connector-2"} 500
push_connector_handshakes_total{outcome="ok"} 1490 1700000000000
push_connector_handshakes_total{outcome="bad auth } x"} 10
broken{ 1
novalue
nan_metric NaN
`

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	m := ParseMetrics(metricsFixture)
	require.Equal(t, 2192.0, m[metricGoroutines])
	require.Equal(t, 1500.0, m[metricSessions], "summed over connectors")
	require.Equal(t, 1500.0, m[metricHandshakes], "summed over outcomes; a timestamp is ignored")
	require.Equal(t, 3.2735232e+07, m["process_resident_memory_bytes"])
	require.NotContains(t, m, "broken")
	require.NotContains(t, m, "novalue")
}

func FuzzParseMetrics(f *testing.F) {
	f.Add(metricsFixture)
	f.Fuzz(func(t *testing.T, s string) {
		ParseMetrics(s)
	})
}
