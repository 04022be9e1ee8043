package dispatcher

import (
	"fmt"
	"testing"
)

// lookupBatch is the number of lookups per benchmark iteration, so that
// ns/lookup means something even at -benchtime=1x.
const lookupBatch = 4096

func BenchmarkRingOwner(b *testing.B) {
	keys := testKeys(lookupBatch)
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			r := NewRing(testNodes(n), 0)
			for b.Loop() {
				for _, k := range keys {
					if _, ok := r.Owner(k); !ok {
						b.Fatal("no owner")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lookupBatch), "ns/lookup")
		})
	}
}

func BenchmarkRingOwners(b *testing.B) {
	keys := testKeys(lookupBatch)
	r := NewRing(testNodes(10), 0)
	for b.Loop() {
		for _, k := range keys {
			if len(r.Owners(k, 1+DefaultFallbacks)) != 1+DefaultFallbacks {
				b.Fatal("short")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lookupBatch), "ns/lookup")
}

func BenchmarkRingBuild(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes := testNodes(n)
			for b.Loop() {
				NewRing(nodes, 0)
			}
			b.ReportMetric(float64(n*DefaultVNodes), "points")
		})
	}
}
