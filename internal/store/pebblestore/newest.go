package pebblestore

import (
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble"
)

// newestPush remembers the greatest push id stored or being created.
// Creating a push checks that its id is free, and for a new id that read
// looks for a key that does not exist, which pebble answers only after it
// has searched every level (tens of microseconds here, the largest store
// cost of a push). Push ids start with their millisecond (ids.At), so a new
// push's id is nearly always greater than every stored one, and such an id
// cannot be taken. An id at or below the newest is checked with the read.
type newestPush struct {
	mu sync.Mutex
	id string
}

// claim reports whether id is greater than the newest push id, and if so
// makes it the newest. The caller holds id's stripe lock and writes the
// push next: a second create of the same id, which waits for that lock,
// finds id no longer greater and reads what the first one wrote.
func (n *newestPush) claim(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if id <= n.id {
		return false
	}
	n.id = id
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
