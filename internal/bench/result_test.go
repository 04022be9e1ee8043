package bench

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func idleSummary() Summary {
	return Summary{
		Scenario: "idle",
		Params:   []Param{{"devices", 1000}, {"procs", 1}},
		Runs: []Figures{
			{{"rss_per_conn_kb", 42.3}, {"goroutines_per_conn", 2}, {"handshakes_per_s", 1401}},
			{{"rss_per_conn_kb", 40.1}, {"goroutines_per_conn", 2}, {"handshakes_per_s", 1620}},
			{{"rss_per_conn_kb", 41.25}, {"goroutines_per_conn", 2}, {"handshakes_per_s", 1532}},
		},
		Notes: []string{"how"},
	}
}

func TestSummaryLine(t *testing.T) {
	t.Parallel()
	require.Equal(t,
		"idle devices=1000 procs=1 rss_per_conn_kb=41.25 goroutines_per_conn=2.00 handshakes_per_s=1532"+
			" (median of 3, range rss_per_conn_kb 40.10–42.30, goroutines_per_conn 2.00–2.00, handshakes_per_s 1401–1620)",
		idleSummary().Line())

	one := Summary{Scenario: "unicast", Runs: []Figures{{{"p99_ms", 0.4123}}}}
	require.Equal(t, "unicast p99_ms=0.412 (1 run)", one.Line())
}

func TestSummaryMedianEven(t *testing.T) {
	t.Parallel()
	s := Summary{Runs: []Figures{{{"x", 1}}, {{"x", 4}}, {{"x", 2}}, {{"x", 10}}}}
	m, ok := s.Median("x")
	require.True(t, ok)
	require.Equal(t, 3.0, m)
	lo, hi, ok := s.Range("x")
	require.True(t, ok)
	require.Equal(t, [2]float64{1, 10}, [2]float64{lo, hi})
	_, ok = s.Median("y")
	require.False(t, ok)
}

func TestFormatValue(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{
		18234.4: "18234", 412.54: "412.5", 41.254: "41.25", 2: "2.00", 0.41234: "0.412", 0: "0", -3.5: "-3.50",
		math.Inf(1): "+Inf",
	} {
		require.Equal(t, want, FormatValue(v), "%v", v)
	}
}

func TestSummaryJSON(t *testing.T) {
	t.Parallel()
	s := idleSummary()
	s.Runs[0] = append(s.Runs[0], Figure{"nan", math.NaN()})
	raw, err := json.Marshal(s)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	require.Equal(t, "idle", got["scenario"])
	require.Equal(t, 1000.0, got["devices"])
	require.Equal(t, 41.25, got["rss_per_conn_kb"])
	require.Equal(t, 1532.0, got["handshakes_per_s"])
	require.Equal(t, 3.0, got["runs"])
	require.Equal(t, []any{1401.0, 1620.0}, got["range"].(map[string]any)["handshakes_per_s"])
	every := got["every_run"].([]any)
	require.Len(t, every, 3)
	require.Equal(t, 42.3, every[0].(map[string]any)["rss_per_conn_kb"])
	require.Nil(t, every[0].(map[string]any)["nan"])
	require.Equal(t, []any{"how"}, got["notes"])
	require.Regexp(t, `^\{"scenario":"idle","devices":1000,"procs":1,"rss_per_conn_kb":`, string(raw), "members keep their order")
}
