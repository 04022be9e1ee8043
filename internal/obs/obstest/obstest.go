// Package obstest reads metrics in tests.
package obstest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// Value sums the samples of counter or gauge name in g whose labels
// include every pair of labels (nil: every sample); 0 when none does.
func Value(tb testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	tb.Helper()
	families, err := g.Gather()
	require.NoError(tb, err)
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	sample:
		for _, m := range f.GetMetric() {
			for k, v := range labels {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == k && l.GetValue() == v)
				}
				if !found {
					continue sample
				}
			}
			if c := m.GetCounter(); c != nil {
				total += c.GetValue()
			} else {
				total += m.GetGauge().GetValue()
			}
		}
	}
	return total
}
