package client

// dedup remembers the last n push ids.
type dedup struct {
	ring []string
	set  map[string]struct{}
	next int
}

func newDedup(n int) *dedup {
	return &dedup{ring: make([]string, n), set: make(map[string]struct{}, n)}
}

// add records id and reports whether it was new.
func (d *dedup) add(id string) bool {
	if _, ok := d.set[id]; ok {
		return false
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.set, old)
	}
	d.ring[d.next] = id
	d.set[id] = struct{}{}
	d.next = (d.next + 1) % len(d.ring)
	return true
}
