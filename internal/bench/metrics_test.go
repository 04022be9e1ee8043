package bench

import (
	"strings"
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
push_connector_frames_received_total{node_id="connector-1",type="ack"} 700
push_connector_frames_received_total{node_id="connector-2",type="ack"} 300
push_connector_frames_received_total{node_id="connector-1",type="ping"} 40
push_odd_total{a="x\"y,b=\"z",b="2"} 5
push_bad_labels_total{a=x} 6
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

	// One label's sums, over the label sets that have it.
	require.Equal(t, 1000.0, m[metricAcks])
	require.Equal(t, 740.0, m[`push_connector_frames_received_total{node_id="connector-1"}`])
	require.Equal(t, 1040.0, m["push_connector_frames_received_total"])
	require.Equal(t, 1490.0, m[`push_connector_handshakes_total{outcome="ok"}`])
	require.Equal(t, 10.0, m[`push_connector_handshakes_total{outcome="bad auth } x"}`])
	require.Equal(t, 5.0, m[`push_odd_total{a="x\"y,b=\"z"}`], "quotes and commas inside a value")
	require.Equal(t, 5.0, m[`push_odd_total{b="2"}`])
	require.Equal(t, 6.0, m["push_bad_labels_total"], "a malformed label set still counts in the total")
	require.NotContains(t, m, `push_bad_labels_total{a=x}`)
}

func FuzzParseMetrics(f *testing.F) {
	f.Add(metricsFixture)
	f.Fuzz(func(t *testing.T, s string) {
		// Every label sum comes with its metric's total, and names one
		// label written name="value".
		m := ParseMetrics(s)
		for k := range m {
			if name, pair, ok := strings.Cut(k, "{"); ok {
				require.Contains(t, m, name, "label sum %q without a total", k)
				label, value, ok := strings.Cut(strings.TrimSuffix(pair, "}"), `="`)
				require.True(t, ok && label != "" && strings.HasSuffix(value, `"`), "%q", k)
			}
		}
	})
}
