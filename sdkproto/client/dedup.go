package client

// dedup remembers the last n push ids. It grows with the ids it sees, so
// that a client that gets few pushes does not hold room for n.
type dedup struct {
	n    int
	ring []string // the ids in arrival order, from next once full
	set  map[string]struct{}
	next int // the oldest id's place, once ring is full
}

func newDedup(n int) *dedup {
	return &dedup{n: max(n, 1), set: map[string]struct{}{}}
}

// add records id and reports whether it was new.
func (d *dedup) add(id string) bool {
	if _, ok := d.set[id]; ok {
		return false
	}
	if len(d.ring) < d.n {
		d.ring = append(d.ring, id)
	} else {
		delete(d.set, d.ring[d.next])
		d.ring[d.next] = id
		d.next = (d.next + 1) % d.n
	}
	d.set[id] = struct{}{}
	return true
}
