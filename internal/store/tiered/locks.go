package tiered

import (
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
)

// stripeCount is how many mutexes and generation counters the layer keeps.
const stripeCount = 1024

// stripes serialise writes to one device within this process (PutDevice and
// report flushes read, change and write whole records) and carry the
// generation counters that keep a read from putting a stale value into L0.
// A device maps to a stripe by the hash of its L0 key.
type stripes struct {
	seed maphash.Seed
	mu   [stripeCount]sync.Mutex
	gen  [stripeCount]atomic.Uint64
}

func newStripes() *stripes { return &stripes{seed: maphash.MakeSeed()} }

func (s *stripes) index(key string) int {
	return int(maphash.String(s.seed, key) % stripeCount)
}

// lock takes the stripes of keys in ascending order, so that two callers
// never wait on each other in a cycle, and returns the unlock function.
func (s *stripes) lock(keys ...string) func() {
	set := make([]int, len(keys))
	for i, k := range keys {
		set[i] = s.index(k)
	}
	slices.Sort(set)
	set = slices.Compact(set)
	for _, i := range set {
		s.mu[i].Lock()
	}
	return func() {
		for _, i := range slices.Backward(set) {
			s.mu[i].Unlock()
		}
	}
}

// generation returns the current generation of key's stripe.
func (s *stripes) generation(key string) uint64 { return s.gen[s.index(key)].Load() }

// bump starts a new generation of key's stripe: values read before it may
// be stale.
func (s *stripes) bump(key string) { s.gen[s.index(key)].Add(1) }

// bumpAll starts a new generation of every stripe.
func (s *stripes) bumpAll() {
	for i := range s.gen {
		s.gen[i].Add(1)
	}
}
