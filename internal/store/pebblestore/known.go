package pebblestore

import "sync"

// maxKnownPushes bounds the push ids kept in memory (about 60 bytes each).
const maxKnownPushes = 1 << 16

// knownPushes keeps the ids of pushes this process created or found. Every
// count added to a push (the gateway's, each connector's, every ack's) and
// its finishing first check that the push exists; a push is never deleted,
// so an id once seen answers that check without a read. A full set drops
// an arbitrary id, which is read from the store again.
type knownPushes struct {
	mu  sync.Mutex
	m   map[string]struct{}
	max int
}

func newKnownPushes(max int) *knownPushes {
	return &knownPushes{m: map[string]struct{}{}, max: max}
}

func (k *knownPushes) has(id string) bool {
	k.mu.Lock()
	_, ok := k.m[id]
	k.mu.Unlock()
	return ok
}

// add records a push that is stored.
func (k *knownPushes) add(id string) {
	k.mu.Lock()
	if _, ok := k.m[id]; !ok && len(k.m) >= k.max {
		for old := range k.m {
			delete(k.m, old)
			break
		}
	}
	k.m[id] = struct{}{}
	k.mu.Unlock()
}
