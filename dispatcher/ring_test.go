package dispatcher

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func testNodes(n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		id := fmt.Sprintf("node-%d", i)
		nodes[i] = Node{ID: id, WSURL: "ws://" + id + "/v1/connect", InternalURL: "http://" + id, Weight: 1}
	}
	return nodes
}

func testKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("device-%d", i)
	}
	return keys
}

func ids(nodes []Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.ID
	}
	return out
}

func TestRingEmpty(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]*Ring{"nil": nil, "no nodes": NewRing(nil, 0), "empty ids": NewRing([]Node{{}}, 0)} {
		t.Run(name, func(t *testing.T) {
			_, ok := r.Owner("device-1")
			require.False(t, ok)
			require.Nil(t, r.Owners("device-1", 3))
			require.Zero(t, r.Len())
			require.Empty(t, r.Nodes())
			_, ok = r.Node("node-0")
			require.False(t, ok)
		})
	}
}

func TestRingSingleNode(t *testing.T) {
	t.Parallel()
	nodes := testNodes(1)
	r := NewRing(nodes, 0)
	require.Equal(t, 1, r.Len())
	for _, k := range testKeys(1000) {
		n, ok := r.Owner(k)
		require.True(t, ok)
		require.Equal(t, nodes[0], n)
		require.Equal(t, nodes, r.Owners(k, 3))
	}
}

func TestRingOwnersDistinctAndOrdered(t *testing.T) {
	t.Parallel()
	nodes := testNodes(5)
	r := NewRing(nodes, 0)
	for _, k := range testKeys(2000) {
		owner, _ := r.Owner(k)
		all := r.Owners(k, 10)
		require.Len(t, all, 5, "n is capped at the number of nodes")
		require.Equal(t, owner, all[0], "the owner comes first")
		require.Len(t, slices.Compact(slices.Sorted(slices.Values(ids(all)))), 5, "distinct")
		for n := 1; n <= 5; n++ {
			require.Equal(t, all[:n], r.Owners(k, n)[:n], "Owners(k, n) is a prefix of Owners(k, n+1)")
		}
		require.Nil(t, r.Owners(k, 0))
		require.Nil(t, r.Owners(k, -1))
	}
}

// The i-th of Owners is the node that owns the key once the ones before it
// are gone: the fallbacks are exactly where a device lands on a failover.
func TestRingOwnersAreSuccessors(t *testing.T) {
	t.Parallel()
	nodes := testNodes(6)
	r := NewRing(nodes, 0)
	rings := map[string]*Ring{} // by the IDs left, built once each
	ringOf := func(rest []Node) *Ring {
		key := strings.Join(ids(rest), ",")
		if rings[key] == nil {
			rings[key] = NewRing(rest, 0)
		}
		return rings[key]
	}
	for _, k := range testKeys(1000) {
		owners := r.Owners(k, len(nodes))
		rest := slices.Clone(nodes)
		for i, want := range owners {
			got, ok := ringOf(rest).Owner(k)
			require.True(t, ok)
			require.Equal(t, want.ID, got.ID, "key %s, fallback %d", k, i)
			rest = slices.DeleteFunc(rest, func(n Node) bool { return n.ID == want.ID })
		}
	}
}

func TestRingNodeLookup(t *testing.T) {
	t.Parallel()
	nodes := testNodes(4)
	r := NewRing(nodes, 0)
	for _, want := range nodes {
		got, ok := r.Node(want.ID)
		require.True(t, ok)
		require.Equal(t, want, got)
	}
	_, ok := r.Node("node-9")
	require.False(t, ok)
	_, ok = r.Node("")
	require.False(t, ok)
}

func TestRingNormalizesNodes(t *testing.T) {
	t.Parallel()
	r := NewRing([]Node{
		{ID: "c", Weight: 0},
		{ID: "a", Weight: -3},
		{ID: "b", Weight: 1000},
		{ID: "a", Weight: 7, WSURL: "ws://duplicate"},
		{ID: ""},
	}, 4)
	require.Equal(t, []Node{{ID: "a", Weight: 1}, {ID: "b", Weight: MaxWeight}, {ID: "c", Weight: 1}}, r.Nodes())
	require.Len(t, r.points, 4*(1+MaxWeight+1))

	nodes := r.Nodes()
	nodes[0].ID = "changed"
	require.Equal(t, "a", r.Nodes()[0].ID, "Nodes returns a copy")
}

func TestRingIndependentOfInputOrder(t *testing.T) {
	t.Parallel()
	nodes := testNodes(7)
	a := NewRing(nodes, 0)
	slices.Reverse(nodes)
	b := NewRing(nodes, 0)
	require.Equal(t, a.points, b.points)
	for _, k := range testKeys(1000) {
		require.Equal(t, a.Owners(k, 3), b.Owners(k, 3))
	}
}

// Owners must agree across processes and machines, so the hashes are
// pinned: a change here reroutes every device in a rolling upgrade.
func TestRingHashIsStable(t *testing.T) {
	t.Parallel()
	require.Equal(t, uint64(0xef46db3751d8e999), hashKey(""))
	r := NewRing(testNodes(3), 0)
	got := make([]string, 0, 5)
	for _, k := range testKeys(5) {
		n, _ := r.Owner(k)
		got = append(got, n.ID)
	}
	require.Equal(t, []string{"node-2", "node-1", "node-2", "node-2", "node-1"}, got)
}

func TestRingConcurrentReads(t *testing.T) {
	t.Parallel()
	r := NewRing(testNodes(5), 0)
	keys := testKeys(500)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, k := range keys {
				n, ok := r.Owner(k)
				if !ok || len(r.Owners(k, 3)) != 3 {
					t.Error("lookup failed")
				}
				if _, ok := r.Node(n.ID); !ok {
					t.Error("owner not found")
				}
			}
		})
	}
	wg.Wait()
}

func TestNodeKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ id, key string }{
		{"conn-1", "conn-1"},
		{"eu.conn_2", "eu.conn_2"},
		{"a/b", "=YS9i"},
		{"a b", "=YSBi"},
		{".lead", "=LmxlYWQ"},
		{"trail.", "=dHJhaWwu"},
		{"a..b", "=YS4uYg"},
		{"=x", "=PXg"},
		{"ü", "=w7w"},
	} {
		got, err := nodeKey(tc.id)
		require.NoError(t, err, tc.id)
		require.Equal(t, tc.key, got, tc.id)
	}
	for _, bad := range []string{"", string(make([]byte, MaxNodeIDLen+1))} {
		_, err := nodeKey(bad)
		require.ErrorIs(t, err, ErrInvalidNodeID)
	}
}
