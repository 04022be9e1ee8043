package pebblestore

import "sync"

// maxUnrecorded bounds the targets kept in memory (about 80 bytes each).
// At 10,000 pushes a second it covers more than 6 seconds between the
// append of a message and its acknowledgement.
const maxUnrecorded = 1 << 16

// target is one message of one device stream.
type target struct {
	dev string
	seq uint64
}

// unrecorded keeps messages this process appended that have no outcome yet.
// Recording an outcome reads the previous one, and for nearly every push
// (the first ack) that read looks for a key that does not exist, which
// pebble answers only after it has searched every level: on this machine
// that read took tens of microseconds and sometimes a disk read. A sequence
// number is never reused within a stream, so a message appended moments ago
// has no outcome unless SetOutcome recorded one, and SetOutcome takes the
// target out of the set, under the target's stripe lock, before it writes.
// Targets are added before their batch commits, so no other caller can
// know the message, and so record its outcome, before it is in the set.
// A full set drops its oldest entry, whose first outcome then costs the
// read again.
type unrecorded struct {
	mu  sync.Mutex
	set fifoSet[target]
}

func newUnrecorded(limit int) *unrecorded {
	return &unrecorded{set: newFIFOSet[target](limit)}
}

// add records targets whose messages are about to be committed.
func (u *unrecorded) add(dev string, first, last uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for seq := first; seq <= last; seq++ {
		u.set.add(target{dev: dev, seq: seq})
	}
}

// take reports whether the target is known to have no outcome, and forgets
// it: the caller is about to record one. Callers hold the target's stripe
// lock.
func (u *unrecorded) take(dev string, seq uint64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.set.remove(target{dev: dev, seq: seq})
}

// len returns the number of targets kept.
func (u *unrecorded) len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.set.len()
}
