package conformance

import (
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
)

// Bench measures sends per second through the fake with 1, 10 and 100
// concurrent senders, as sub-benchmarks named concurrency=N.
func Bench(b *testing.B, newHarness Factory) {
	for _, c := range []int{1, 10, 100} {
		b.Run("concurrency="+strconv.Itoa(c), func(b *testing.B) {
			h := newHarness(b)
			tok := h.Token("bench")
			if _, err := h.Sender.Send(b.Context(), Message(tok)); err != nil {
				b.Fatalf("warm-up send: %v", err)
			}
			b.ReportAllocs()
			if c == 1 {
				benchSerial(b, h, tok)
			} else {
				benchParallel(b, h, tok, c)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

func benchSerial(b *testing.B, h Harness, tok string) {
	i := 0
	for b.Loop() {
		m := Message(tok)
		m.PushID = strconv.Itoa(i)
		i++
		if _, err := h.Sender.Send(b.Context(), m); err != nil {
			b.Fatal(err)
		}
	}
}

func benchParallel(b *testing.B, h Harness, tok string, c int) {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((c + procs - 1) / procs)
	var seq atomic.Int64
	var failed atomic.Pointer[error]
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := Message(tok)
			m.PushID = fmt.Sprint(seq.Add(1))
			if _, err := h.Sender.Send(b.Context(), m); err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		}
	})
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}
