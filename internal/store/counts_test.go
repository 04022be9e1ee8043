package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Encodings store Vector; one written before Opened and Clicked existed
// has ten counters and reads with those two zero.
func TestCountsVector(t *testing.T) {
	c := Counts{Targeted: 1, Delivered: 2, Acked: 3, Offline: 4, Failed: 5, Relayed: 6,
		RelayFailed: 7, Expired: 8, NoChannel: 9, DeadTokens: 10, Opened: 11, Clicked: 12}
	v := c.Vector()
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, v, "every counter, in order")
	require.Equal(t, c, CountsFromVector(v))
	old := c
	old.Opened, old.Clicked = 0, 0
	require.Equal(t, old, CountsFromVector(v[:10]))
	require.Equal(t, c, CountsFromVector(append(v, 13)), "a longer vector's extra counters are ignored")
	require.Equal(t, Counts{Opened: 2, Clicked: 1}, Counts{Opened: 1}.Add(Counts{Opened: 1, Clicked: 1}))
}
