package pebblestore

import (
	"log/slog"
	"testing"
	"time"

	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/store"
)

// twoWrites hides the store's AdvanceAcked, so that outcome.Ack moves the
// watermark and records each outcome in writes of their own.
type twoWrites struct{ outcome.Store }

// BenchmarkAck acknowledges one message just appended per op, as the
// connector does for nearly every push: "at_once" moves the watermark and
// records the outcome in one batch (store.AckRecorder), "two_writes" in a
// write each. The message's push exists, as a server's does. "two_writes"
// sums the counts in memory, as the connector does on a store that cannot
// count in the ack's write, and writes the sums after each round of
// acknowledgements; "at_once" counts in the ack's batch. Besides the wall
// time it reports the process's CPU time per op (getrusage), which
// includes the log writer's goroutine.
func BenchmarkAck(b *testing.B) {
	const devices = 1000
	for _, mode := range []string{"two_writes", "at_once"} {
		b.Run(mode, func(b *testing.B) {
			s := open(b, Config{Dir: b.TempDir()})
			devs, msg, ctx := benchDevices(devices), benchMessage(), b.Context()
			if _, err := s.CreatePush(ctx, &store.Push{ID: msg.PushID, AppID: "app", CreatedAt: msg.SentAt}, ""); err != nil {
				b.Fatal(err)
			}
			entries := oneEach(devs, msg)
			var st outcome.Store = s
			if mode == "two_writes" {
				st = twoWrites{s}
			}
			sums := outcome.NewSums(s, slog.New(slog.DiscardHandler), nil)
			acks := outcome.Summed{Store: st, Sums: sums}
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
				sums.Flush(ctx)
				cpu += cpuTime() - cpu0
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
