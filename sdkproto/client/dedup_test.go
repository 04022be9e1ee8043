package client

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// dedup drops an id seen among the last n, forgets older ones, and holds
// no more than n.
func TestDedupRemembersTheLastN(t *testing.T) {
	const n = 5
	d := newDedup(n)
	id := func(i int) string { return "p" + strconv.Itoa(i) }
	for i := range 3 * n {
		require.True(t, d.add(id(i)), "id %d is new", i)
		for back := 0; back < min(n, i+1); back++ {
			require.False(t, d.add(id(i-back)), "id %d is among the last %d after %d", i-back, n, i)
		}
		require.LessOrEqual(t, len(d.set), n)
		require.LessOrEqual(t, len(d.ring), n)
	}
	// The ids before the last n were forgotten.
	require.True(t, d.add(id(2*n-1)))
	require.Len(t, d.set, n)
}

// A new client holds no room for ids it has not seen.
func TestDedupStartsEmpty(t *testing.T) {
	d := newDedup(4096)
	require.Zero(t, cap(d.ring))
	require.True(t, d.add("a"))
	require.False(t, d.add("a"))
	require.Len(t, d.ring, 1)
}
