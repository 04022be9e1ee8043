package pebblestore

import (
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble"
)

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
	set   map[string]struct{}
	ring  []string // insertion order, for dropping the oldest
	next  int      // where the next id goes in ring
}

func newNewPushes(floor string, limit int) *newPushes {
	return &newPushes{floor: floor, set: make(map[string]struct{}), ring: make([]string, max(limit, 1))}
}

// claim reports whether id is free without a read, and if so adds it. The
// caller holds id's stripe lock and writes the push next: a second create
// of the same id, which waits for that lock, finds id in the set and reads
// what the first one wrote.
func (n *newPushes) claim(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if id <= n.floor {
		return false
	}
	if _, ok := n.set[id]; ok {
		return false
	}
	if old := n.ring[n.next]; old != "" {
		delete(n.set, old)
		n.floor = max(n.floor, old)
	}
	n.ring[n.next] = id
	n.next = (n.next + 1) % len(n.ring)
	n.set[id] = struct{}{}
	return true
}

// loadNewestPush returns the greatest push id in db, "" when there is none.
func loadNewestPush(db *pebble.DB) (string, error) {
	prefix := []byte{tagPush}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return "", fmt.Errorf("pebblestore: newest push: %w", err)
	}
	var id string
	if it.Last() {
		id = string(it.Key()[len(prefix):])
	}
	if err := it.Close(); err != nil {
		return "", fmt.Errorf("pebblestore: newest push: %w", err)
	}
	return id, nil
}
