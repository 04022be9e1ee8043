package dispatcher

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// loads counts the keys each node owns.
func loads(r *Ring, keys []string) map[string]int {
	out := make(map[string]int, r.Len())
	for _, k := range keys {
		n, _ := r.Owner(k)
		out[n.ID]++
	}
	return out
}

// spread returns the least and most loaded nodes' loads relative to the
// mean (1 is the mean).
func spread(load map[string]int, nodes int, keys int) (lo, hi float64) {
	mean := float64(keys) / float64(nodes)
	lo, hi = math.Inf(1), 0
	for _, c := range load {
		lo, hi = min(lo, float64(c)/mean), max(hi, float64(c)/mean)
	}
	if len(load) < nodes {
		lo = 0
	}
	return lo, hi
}

// 10 equal nodes at DefaultVNodes (256 points each): the measured spread
// is 0.93..1.12 of the mean for these IDs. Over 100 random sets of 10 IDs
// the worst node is off by 11% at the median and 15% at the 90th
// percentile.
func TestRingBalance(t *testing.T) {
	t.Parallel()
	keys := testKeys(100_000)
	lo, hi := spread(loads(NewRing(testNodes(10), 0), keys), 10, len(keys))
	t.Logf("10 nodes, %d keys: min %.3f, max %.3f of the mean", len(keys), lo, hi)
	require.InDelta(t, 1, lo, 0.15)
	require.InDelta(t, 1, hi, 0.15)
}

// The bound above is not an accident of the chosen IDs: across other ID
// sets the typical worst deviation stays within it.
func TestRingBalanceAcrossIDSets(t *testing.T) {
	t.Parallel()
	keys := testKeys(50_000)
	const sets = 20
	sum := 0.0
	for s := range sets {
		nodes := make([]Node, 10)
		for i := range nodes {
			nodes[i] = Node{ID: fmt.Sprintf("conn-%d-%d", s, i)}
		}
		lo, hi := spread(loads(NewRing(nodes, 0), keys), 10, len(keys))
		sum += max(1-lo, hi-1)
	}
	t.Logf("mean worst deviation over %d ID sets: %.3f", sets, sum/sets)
	require.Less(t, sum/sets, 0.15)
}

func TestRingWeights(t *testing.T) {
	t.Parallel()
	nodes := testNodes(4)
	nodes[1].Weight = 2
	keys := testKeys(100_000)
	load := loads(NewRing(nodes, 0), keys)
	one := float64(load["node-0"]+load["node-2"]+load["node-3"]) / 3
	ratio := float64(load["node-1"]) / one
	t.Logf("weight 2 against weight 1: %.3f times the keys", ratio)
	require.InDelta(t, 2, ratio, 0.3)
}

func TestRingMovementOnRemove(t *testing.T) {
	t.Parallel()
	keys := testKeys(100_000)
	for _, n := range []int{3, 5, 10} {
		t.Run(fmt.Sprintf("nodes=%d", n), func(t *testing.T) {
			t.Parallel()
			nodes := testNodes(n)
			before := NewRing(nodes, 0)
			gone := nodes[n/2].ID
			after := NewRing(append(nodes[:n/2:n/2], nodes[n/2+1:]...), 0)
			moved := 0
			for _, k := range keys {
				a, _ := before.Owner(k)
				b, _ := after.Owner(k)
				if a.ID != b.ID {
					require.Equal(t, gone, a.ID, "only keys of the removed node move")
					moved++
				} else {
					require.NotEqual(t, gone, a.ID)
				}
			}
			share := float64(moved) / float64(len(keys))
			t.Logf("remove 1 of %d: %.4f of the keys moved (1/N = %.4f)", n, share, 1/float64(n))
			require.GreaterOrEqual(t, share, 0.7/float64(n))
			require.LessOrEqual(t, share, 1.3/float64(n))
		})
	}
}

func TestRingMovementOnAdd(t *testing.T) {
	t.Parallel()
	keys := testKeys(100_000)
	for _, n := range []int{3, 5, 10} {
		t.Run(fmt.Sprintf("nodes=%d", n), func(t *testing.T) {
			t.Parallel()
			nodes := testNodes(n + 1)
			before := NewRing(nodes[:n], 0)
			after := NewRing(nodes, 0)
			added := nodes[n].ID
			moved := 0
			for _, k := range keys {
				a, _ := before.Owner(k)
				b, _ := after.Owner(k)
				if a.ID != b.ID {
					require.Equal(t, added, b.ID, "keys move only onto the new node")
					moved++
				}
			}
			share := float64(moved) / float64(len(keys))
			want := 1 / float64(n+1)
			t.Logf("add 1 to %d: %.4f of the keys moved (1/(N+1) = %.4f)", n, share, want)
			require.GreaterOrEqual(t, share, 0.7*want)
			require.LessOrEqual(t, share, 1.3*want)
		})
	}
}
