package cache

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchKeys returns n distinct keys.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("device:%08d", i)
	}
	return keys
}

func BenchmarkCacheGet(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("value=%d", size), func(b *testing.B) {
			c := newCache(b, Config{})
			keys := benchKeys(10_000)
			val := make([]byte, size)
			for _, k := range keys {
				if err := c.Set(k, val, 0); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				if _, ok := c.Get(keys[i%len(keys)]); !ok {
					b.Fatal("miss")
				}
				i++
			}
		})
	}
}

func BenchmarkCacheGetParallel(b *testing.B) {
	c := newCache(b, Config{})
	keys := benchKeys(10_000)
	val := make([]byte, 256)
	for _, k := range keys {
		if err := c.Set(k, val, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(keys))
		for pb.Next() {
			c.Get(keys[i%len(keys)])
			i++
		}
	})
}

func BenchmarkCacheSet(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("value=%d", size), func(b *testing.B) {
			c := newCache(b, Config{})
			keys := benchKeys(10_000)
			val := make([]byte, size)
			i := 0
			for b.Loop() {
				if err := c.Set(keys[i%len(keys)], val, 0); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkCacheOversized writes a working set ten times the cap and reports
// the most bytes the cache ever held next to the cap, and the hit ratio of a
// read before each write.
func BenchmarkCacheOversized(b *testing.B) {
	const maxBytes = 16 << 20
	c := newCache(b, Config{MaxBytes: maxBytes})
	keys, sizes := workingSet(10*maxBytes, 11)
	val := make([]byte, 2048)
	rng := rand.New(rand.NewPCG(1, 2))
	var most int64
	var hits, reads float64
	for b.Loop() {
		i := rng.IntN(len(keys))
		if _, ok := c.Get(keys[i]); ok {
			hits++
		}
		reads++
		if err := c.Set(keys[i], val[:sizes[i]], 0); err != nil {
			b.Fatal(err)
		}
		most = max(most, c.Bytes())
	}
	if most > maxBytes {
		b.Fatalf("held %d bytes, cap %d", most, maxBytes)
	}
	b.ReportMetric(float64(most), "bytes-max")
	b.ReportMetric(float64(c.Cap()), "bytes-cap")
	b.ReportMetric(hits/reads, "hit-ratio")
}

// BenchmarkCacheFootprint fills a cache to its cap and compares the Go heap
// it takes with the cost the cache accounts, to check EntryOverhead.
func BenchmarkCacheFootprint(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("value=%d", size), func(b *testing.B) {
			const maxBytes = 8 << 20
			keys := benchKeys(2 * maxBytes / size)
			val := make([]byte, size)
			var heap, cost, entries float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				c := newCache(b, Config{MaxBytes: maxBytes})
				for _, k := range keys {
					if err := c.Set(k, val, 0); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap += float64(after.HeapAlloc) - float64(before.HeapAlloc)
				cost += float64(c.Bytes())
				entries += float64(c.Len())
				runtime.KeepAlive(c)
			}
			b.ReportMetric(heap/entries, "heap-B/entry")
			b.ReportMetric(cost/entries, "cost-B/entry")
			b.ReportMetric(heap/cost, "heap/cost")
		})
	}
}
