package pebblestore

import (
	"log/slog"
	"testing"
	"time"

	"github.com/mopush/mopush/internal/outcome"
)

// twoWrites hides the store's AdvanceAcked, so that outcome.Ack moves the
// watermark and records each outcome in writes of their own.
type twoWrites struct{ outcome.Store }

// BenchmarkAck acknowledges one message just appended per op, as the
// connector does for nearly every push: "at_once" moves the watermark and
// records the outcome in one batch (store.AckRecorder), "two_writes" in a
// write each. Counts are summed in memory, as the connector's are. Besides
// the wall time it reports the process's CPU time per op (getrusage), which
// includes the log writer's goroutine.
func BenchmarkAck(b *testing.B) {
	const devices = 1000
	for _, mode := range []string{"two_writes", "at_once"} {
		b.Run(mode, func(b *testing.B) {
			s := open(b, Config{Dir: b.TempDir()})
			devs, msg, ctx := benchDevices(devices), benchMessage(), b.Context()
			entries := oneEach(devs, msg)
			var st outcome.Store = s
			if mode == "two_writes" {
				st = twoWrites{s}
			}
			acks := outcome.Summed{Store: st, Sums: outcome.NewSums(s, slog.New(slog.DiscardHandler), nil)}
			var cpu time.Duration
			b.ResetTimer()
			for done := 0; done < b.N; {
				// Each round appends one message per device, untimed, and
				// acknowledges them: the newest message, as a live device
				// acknowledges a push.
				b.StopTimer()
				pos, err := s.Append(ctx, entries)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				cpu0 := cpuTime()
				for i := 0; i < devices && done < b.N; i, done = i+1, done+1 {
					n, err := outcome.Ack(ctx, acks, devs[i], pos[i].Seq, time.Now())
					if err != nil || n != 1 {
						b.Fatalf("acked %d, err %v", n, err)
					}
				}
				cpu += cpuTime() - cpu0
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
