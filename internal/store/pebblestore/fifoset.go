package pebblestore

// fifoSet is a set of at most a fixed number of keys: adding to a full one
// drops the key added longest ago. A key removed, or added again, keeps its
// old place in that order, so it may be dropped early: callers use the set
// to skip a read, and a dropped key only costs the read again. Not safe for
// concurrent use.
type fifoSet[K comparable] struct {
	m    map[K]struct{}
	ring []K  // keys in the order added
	next int  // where the next key goes in ring
	full bool // every slot of ring holds a key
}

func newFIFOSet[K comparable](limit int) fifoSet[K] {
	return fifoSet[K]{m: make(map[K]struct{}), ring: make([]K, max(limit, 1))}
}

// add adds k and returns the key it dropped, if any.
func (f *fifoSet[K]) add(k K) (dropped K, ok bool) {
	if f.full {
		dropped, ok = f.ring[f.next], true
		delete(f.m, dropped)
	}
	f.ring[f.next] = k
	f.next = (f.next + 1) % len(f.ring)
	f.full = f.full || f.next == 0
	f.m[k] = struct{}{}
	return dropped, ok
}

func (f *fifoSet[K]) has(k K) bool {
	_, ok := f.m[k]
	return ok
}

// remove takes k out of the set and reports whether it was there.
func (f *fifoSet[K]) remove(k K) bool {
	if _, ok := f.m[k]; !ok {
		return false
	}
	delete(f.m, k)
	return true
}

func (f *fifoSet[K]) len() int { return len(f.m) }
