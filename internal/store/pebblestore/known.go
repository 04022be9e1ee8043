package pebblestore

import "github.com/mopush/mopush/internal/capmap"

// maxKnownPushes bounds the push ids kept in memory (about 60 bytes each).
const maxKnownPushes = 1 << 16

// knownPushes keeps the ids of pushes this process created or found. Every
// count added to a push (the gateway's, each connector's, every ack's) and
// its finishing first check that the push exists; a push is never deleted,
// so an id once seen answers that check without a read. A full set drops
// an arbitrary id, which is read from the store again.
type knownPushes struct{ m *capmap.Map[string, struct{}] }

func newKnownPushes(max int) *knownPushes {
	return &knownPushes{m: capmap.New[string, struct{}](max)}
}

func (k *knownPushes) has(id string) bool {
	_, ok := k.m.Get(id)
	return ok
}

// add records a push that is stored.
func (k *knownPushes) add(id string) { k.m.Put(id, struct{}{}) }
