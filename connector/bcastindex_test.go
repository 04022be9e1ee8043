package connector

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBcastIndex(t *testing.T) {
	t.Parallel()
	x := newBcastIndex()
	for seq := uint64(1); seq <= 300; seq++ {
		x.record("app", 7, seq, "p"+string(rune('A'+seq%26)))
	}
	ids, ok := x.lookup("app", 7, 290, 293)
	require.True(t, ok)
	require.Len(t, ids, 3)
	_, ok = x.lookup("app", 7, 10, 12)
	require.False(t, ok, "fell out of the ring")
	_, ok = x.lookup("app", 8, 290, 291)
	require.False(t, ok, "another epoch")
	_, ok = x.lookup("other", 7, 290, 291)
	require.False(t, ok, "another app")
	_, ok = x.lookup("app", 7, 299, 301)
	require.False(t, ok, "not sent yet")
	x.record("app", 9, 1, "new")
	ids, ok = x.lookup("app", 9, 0, 1)
	require.True(t, ok, "a new epoch starts a new ring")
	require.Equal(t, []string{"new"}, ids)
}
