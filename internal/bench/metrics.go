package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Metric names the bench reads from the server's /metrics.
const (
	metricGoroutines = "go_goroutines"
	metricSessions   = "push_connector_sessions"
	metricHandshakes = "push_connector_handshakes_total"
	metricDispatches = "push_dispatcher_requests_total"
	// metricAcks is the Ack frames the connectors received.
	metricAcks = `push_connector_frames_received_total{type="ack"}`
)

// ParseMetrics reads the Prometheus text exposition format and returns each
// metric's value summed over its label sets (so counters of several
// connectors add up), and also, under name{label="value"}, summed over the
// label sets that have that one label. Comments and malformed lines are
// skipped.
func ParseMetrics(text string) map[string]float64 {
	out := map[string]float64{}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, rest := line, "", ""
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			name, labels, rest = line[:i], line[i+1:j], line[j+1:]
		} else if i := strings.IndexAny(line, " \t"); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out[name] += v
		for _, pair := range labelPairs(labels) {
			out[name+"{"+pair+"}"] += v
		}
	}
	return out
}

// labelPairs splits the inside of a label set, as in a="x",b="y\"z", into
// its pairs as written; it returns nil if the set is malformed.
func labelPairs(s string) []string {
	var pairs []string
	for s != "" {
		eq := strings.Index(s, `="`)
		if eq <= 0 || strings.ContainsAny(s[:eq], `",{} `) {
			return nil
		}
		end := -1
		for i := eq + 2; i < len(s); i++ {
			if s[i] == '\\' {
				i++ // an escaped character
			} else if s[i] == '"' {
				end = i
				break
			}
		}
		if end < 0 {
			return nil
		}
		pairs = append(pairs, s[:end+1])
		s = strings.TrimPrefix(s[end+1:], ",")
	}
	return pairs
}

// scrape fetches and parses base/metrics.
func scrape(ctx context.Context, hc *http.Client, base string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape metrics: %s", resp.Status)
	}
	return ParseMetrics(string(b)), nil
}
