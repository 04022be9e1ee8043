package pebblestore

import (
	"hash/maphash"
	"slices"
	"sync"
)

const stripeCount = 256

// stripes serialises read-modify-write sequences on the same record without
// a lock over the whole store: a record maps to one of stripeCount mutexes by
// the hash of a namespace byte and its id. Unrelated records rarely share a
// stripe, so their synced commits overlap and pebble folds them into one
// fsync. A caller takes every stripe it needs at once, through lock, which
// takes them in ascending order, so two callers can never wait on each other
// in a cycle.
type stripes struct {
	seed maphash.Seed
	mu   [stripeCount]sync.Mutex
}

func newStripes() *stripes {
	return &stripes{seed: maphash.MakeSeed()}
}

// index returns the stripe of record id in namespace ns.
func (s *stripes) index(ns byte, id string) uint16 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteByte(ns)
	h.WriteString(id)
	return uint16(h.Sum64() % stripeCount)
}

// lock sorts and de-duplicates set in place, locks the stripes it names and
// returns the set to pass to unlock.
func (s *stripes) lock(set []uint16) []uint16 {
	slices.Sort(set)
	set = slices.Compact(set)
	for _, i := range set {
		s.mu[i].Lock()
	}
	return set
}

func (s *stripes) unlock(set []uint16) {
	for _, i := range slices.Backward(set) {
		s.mu[i].Unlock()
	}
}
