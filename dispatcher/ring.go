package dispatcher

import (
	"cmp"
	"slices"
)

// DefaultVNodes is the number of points a node of weight 1 gets on the
// ring when NewRing is given vnodes <= 0.
const DefaultVNodes = 256

// MaxWeight caps Node.Weight so that one misconfigured node cannot blow up
// the ring's size; larger weights are lowered to it.
const MaxWeight = 100

// Node is one connector on the ring.
type Node struct {
	ID          string `json:"id"`
	WSURL       string `json:"ws_url"`       // where devices connect, e.g. ws://127.0.0.1:8080/v1/connect
	InternalURL string `json:"internal_url"` // base URL of its internal HTTP/2 API, e.g. http://127.0.0.1:8080
	Weight      int    `json:"weight"`       // relative capacity; <= 0 means 1
}

// Ring is an immutable consistent-hash ring of nodes with virtual nodes
// and weights. A nil or empty Ring owns nothing. All methods are safe for
// concurrent use.
type Ring struct {
	nodes  []Node   // sorted by ID, weights normalised
	points []uint64 // sorted ascending
	owner  []uint32 // owner[i] indexes nodes for points[i]
}

// NewRing builds a ring from nodes, giving each node vnodes points per
// unit of weight (vnodes <= 0 means DefaultVNodes). Nodes with an empty ID
// are skipped; of nodes sharing an ID the first is kept. Weights <= 0
// become 1 and weights above MaxWeight become MaxWeight, and the ring's
// Node values carry the weight so normalised. The result depends only on
// the set of nodes, not on their order.
func NewRing(nodes []Node, vnodes int) *Ring {
	if vnodes <= 0 {
		vnodes = DefaultVNodes
	}
	r := &Ring{nodes: normalize(nodes)}
	total := 0
	for _, n := range r.nodes {
		total += n.Weight * vnodes
	}
	type point struct {
		hash uint64
		node uint32
	}
	pts := make([]point, 0, total)
	for i, n := range r.nodes {
		seq := newPointSeq(n.ID)
		for range n.Weight * vnodes {
			pts = append(pts, point{hash: seq.next(), node: uint32(i)})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.node, b.node))
	})
	r.points = make([]uint64, len(pts))
	r.owner = make([]uint32, len(pts))
	for i, p := range pts {
		r.points[i], r.owner[i] = p.hash, p.node
	}
	return r
}

// normalize returns a copy of nodes sorted by ID, without empty or
// duplicate IDs, with weights in [1, MaxWeight].
func normalize(nodes []Node) []Node {
	out := make([]Node, 0, len(nodes))
	seen := make(map[string]struct{}, len(nodes))
	for _, n := range nodes {
		if _, dup := seen[n.ID]; dup || n.ID == "" {
			continue
		}
		seen[n.ID] = struct{}{}
		n.Weight = min(max(n.Weight, 1), MaxWeight)
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Owner returns the node that owns key: the node of the first point at or
// clockwise after the key's hash. It returns false on an empty ring.
func (r *Ring) Owner(key string) (Node, bool) {
	if r == nil || len(r.nodes) == 0 {
		return Node{}, false
	}
	if len(r.nodes) == 1 {
		return r.nodes[0], true
	}
	return r.nodes[r.owner[r.search(hashKey(key))]], true
}

// Owners returns up to n distinct nodes for key: the owner first, then the
// next distinct nodes met walking clockwise. Owners(key, n)[i] is the node
// that would own key if the nodes before it were removed, which makes the
// tail a fallback list. It returns nil for n <= 0 or an empty ring.
func (r *Ring) Owners(key string, n int) []Node {
	if r == nil || n <= 0 || len(r.nodes) == 0 {
		return nil
	}
	n = min(n, len(r.nodes))
	out := make([]Node, 0, n)
	if len(r.nodes) == 1 {
		return append(out, r.nodes[0])
	}
	var taken picks
	if n > len(taken.few) {
		taken.many = make([]bool, len(r.nodes))
	}
	for i, start := 0, r.search(hashKey(key)); len(out) < n && i < len(r.points); i++ {
		if idx := r.owner[(start+i)%len(r.points)]; taken.add(idx) {
			out = append(out, r.nodes[idx])
		}
	}
	return out
}

// picks is the set of node indexes Owners has taken: a short list on the
// stack for the usual few fallbacks, a table for larger n.
type picks struct {
	few  [8]uint32
	nfew int
	many []bool
}

// add adds idx and reports whether it was new.
func (p *picks) add(idx uint32) bool {
	if p.many != nil {
		isNew := !p.many[idx]
		p.many[idx] = true
		return isNew
	}
	if slices.Contains(p.few[:p.nfew], idx) {
		return false
	}
	p.few[p.nfew] = idx
	p.nfew++
	return true
}

// search returns the index of the first point at or after h, wrapping to 0
// past the last point. The ring must have points.
func (r *Ring) search(h uint64) int {
	lo, hi := 0, len(r.points)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r.points[mid] < h {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(r.points) {
		return 0
	}
	return lo
}

// Len returns the number of nodes on the ring.
func (r *Ring) Len() int {
	if r == nil {
		return 0
	}
	return len(r.nodes)
}

// Nodes returns a copy of the ring's nodes, sorted by ID.
func (r *Ring) Nodes() []Node {
	if r == nil {
		return nil
	}
	return slices.Clone(r.nodes)
}

// Node returns the node with the given ID.
func (r *Ring) Node(id string) (Node, bool) {
	if r == nil {
		return Node{}, false
	}
	i, ok := slices.BinarySearchFunc(r.nodes, id, func(n Node, id string) int { return cmp.Compare(n.ID, id) })
	if !ok {
		return Node{}, false
	}
	return r.nodes[i], true
}

// sameNodes reports whether a and b hold the same nodes with the same
// fields.
func sameNodes(a, b *Ring) bool {
	return slices.Equal(a.Nodes(), b.Nodes())
}

// RingSource gives the current ring. Implementations return a ring that
// stays valid (it is immutable) after newer rings replace it.
type RingSource interface {
	Ring() *Ring
}

// Static is a RingSource with a fixed ring, for tests and a single node.
type Static struct{ R *Ring }

// Ring returns s.R.
func (s Static) Ring() *Ring { return s.R }

var (
	_ RingSource = Static{}
	_ RingSource = (*Membership)(nil)
)
