package capmap

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMapKeepsItsCap(t *testing.T) {
	c := New[string, int](3)
	for i := range 10 {
		c.Put(fmt.Sprint(i), i)
		require.LessOrEqual(t, c.Len(), 3)
		v, ok := c.Get(fmt.Sprint(i))
		require.True(t, ok, "the newest entry is kept")
		require.Equal(t, i, v)
	}
	// Overwriting an entry of a full map drops nothing.
	c.Put("9", 90)
	require.Equal(t, 3, c.Len())
	v, _ := c.Get("9")
	require.Equal(t, 90, v)
	_, ok := c.Get("missing")
	require.False(t, ok)
}

func TestMapConcurrent(t *testing.T) {
	c := New[int, int](100)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				c.Put(g*1000+i, i)
				c.Get(i)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 100, c.Len())
}

func TestNewAtLeastOne(t *testing.T) {
	c := New[string, bool](0)
	c.Put("a", true)
	c.Put("b", true)
	require.Equal(t, 1, c.Len())
}
