package mongostore

import (
	"fmt"
	"testing"
	"time"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// The benchmarks run against the FerretDB that TestMain starts (SQLite on
// the local disk), one call at a time, so ns/op is the latency of one call.

// BenchmarkCreatePush stores one push per call, with and without an
// idempotency key (a key costs a lookup before the insert).
func BenchmarkCreatePush(b *testing.B) {
	for _, idem := range []bool{false, true} {
		b.Run(fmt.Sprintf("idem=%t", idem), func(b *testing.B) {
			s := openStore(b, Config{})
			ctx := b.Context()
			n := 0
			for b.Loop() {
				p := benchPush()
				key := ""
				if idem {
					key = p.ID
				}
				if _, err := s.CreatePush(ctx, p, key); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pushes/s")
		})
	}
}

// BenchmarkAddCounts adds to one push's counters per call, in each count
// mode. Inc is what MongoDB runs; on FerretDB it is measured one call at a
// time only, since concurrent updates there are not atomic.
func BenchmarkAddCounts(b *testing.B) {
	for _, mode := range []CountMode{CountDeltas, CountInc} {
		b.Run(fmt.Sprintf("counts=%s", mode), func(b *testing.B) {
			s := openStore(b, Config{Counts: mode})
			ctx := b.Context()
			p := benchPush()
			if _, err := s.CreatePush(ctx, p, ""); err != nil {
				b.Fatal(err)
			}
			delta := store.Counts{Delivered: 1, Acked: 1}
			n := 0
			for b.Loop() {
				if err := s.AddCounts(ctx, p.ID, delta); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "adds/s")
		})
	}
}

// BenchmarkPushRead reads a push whose counters were added to deltas times:
// in CountDeltas mode a read sums that many documents.
func BenchmarkPushRead(b *testing.B) {
	for _, deltas := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("deltas=%d", deltas), func(b *testing.B) {
			s := openStore(b, Config{Counts: CountDeltas})
			ctx := b.Context()
			p := benchPush()
			if _, err := s.CreatePush(ctx, p, ""); err != nil {
				b.Fatal(err)
			}
			for range deltas {
				if err := s.AddCounts(ctx, p.ID, store.Counts{Acked: 1}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				got, err := s.Push(ctx, p.ID)
				if err != nil {
					b.Fatal(err)
				}
				if got.Counts.Acked != int64(deltas) {
					b.Fatalf("acked %d, want %d", got.Counts.Acked, deltas)
				}
			}
		})
	}
}

func benchPush() *store.Push {
	now := time.Now()
	return &store.Push{
		ID:           ids.At(now),
		AppID:        "bench-app",
		Notification: store.Notification{Title: "Your order has shipped", Body: "It arrives on Thursday.", Data: map[string]string{"order": "A-1234567"}},
		Audience:     store.Audience{Aliases: []string{"alice"}},
		Targets:      []string{"d1", "d2", "d3"},
		CreatedAt:    now,
		ExpiresAt:    now.Add(time.Hour),
	}
}
