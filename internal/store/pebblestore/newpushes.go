package pebblestore

import "sync"

// maxNewPushes bounds the push ids newPushes holds (about 60 bytes each).
// At 10,000 pushes a second it covers 3 seconds, far more than the time
// between a push id being made and its push being stored.
const maxNewPushes = 1 << 15

// newPushes tells a push id that no stored push has. Creating a push checks
// that its id is free, and for a new id that read looks for a key that does
// not exist, which pebble answers only after it has searched every level
// (tens of microseconds here, the largest store cost of a push). Push ids
// start with their millisecond (ids.At), so the ids this process creates
// are kept, the newest up to maxNewPushes; every other stored id is at or
// below floor: the newest at open, raised to each id dropped from the
// set. An id above floor and not in the set is free without a read. Ids
// made at about the same time may reach the store out of order, so a plain
// "newer than the newest" rule would read for many of them.
type newPushes struct {
	mu    sync.Mutex
	floor string
	set   fifoSet[string]
}

func newNewPushes(floor string, limit int) *newPushes {
	return &newPushes{floor: floor, set: newFIFOSet[string](limit)}
}

// claim reports whether id is free without a read, and if so adds it. The
// caller holds id's stripe lock and writes the push next: a second create
// of the same id, which waits for that lock, finds id in the set and reads
// what the first one wrote.
func (n *newPushes) claim(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if id <= n.floor || n.set.has(id) {
		return false
	}
	if old, ok := n.set.add(id); ok {
		n.floor = max(n.floor, old)
	}
	return true
}

// newestPushID returns the greatest push id stored, "" when there is none.
func (s *Store) newestPushID() (string, error) {
	prefix := []byte{tagPush}
	it, err := s.prefixIter(prefix)
	if err != nil {
		return "", err
	}
	var id string
	if it.Last() {
		id = string(it.Key()[len(prefix):])
	}
	return id, closeIter(it, nil)
}
