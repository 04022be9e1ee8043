package taskcontainer

import (
	"fmt"
	"testing"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// BenchmarkCampaign measures the runner's own work per device of a
// campaign on the embedded store: listing the audience, reading the
// devices' zones (local time), grouping, and one checkpoint per page. The
// push API is the in-memory stand-in, so the gateway's work is not in it.
func BenchmarkCampaign(b *testing.B) {
	for _, local := range []bool{false, true} {
		b.Run(fmt.Sprintf("local_time=%v", local), func(b *testing.B) {
			h := newHarness(b, Config{PageSize: 500})
			zones := []string{"", "Europe/Berlin", "America/New_York", "Asia/Tokyo"}
			const devices = 10000
			for range devices / len(zones) {
				for _, z := range zones {
					h.devices(1, "fans", z)
				}
			}
			wall := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)
			h.clock = wall.Add(-earliestOffset)
			b.ResetTimer()
			for b.Loop() {
				c := h.campaign(func(c *store.Campaign) {
					if local {
						c.SendAt, c.LocalTime = wall, true
					}
				})
				if _, err := h.r.Step(b.Context(), c.ID); err != nil {
					b.Fatal(err)
				}
				if got := h.stored(c.ID); got.State != store.CampaignDone || got.Sent != devices {
					b.Fatalf("campaign %s, %d sent", got.State, got.Sent)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*devices), "ns/device")
		})
	}
}
