package shard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("device-%07d", i)
	}
	return out
}

// TestStable pins the hash and the mapping: a change here moves keys
// between shards of running clusters.
func TestStable(t *testing.T) {
	t.Parallel()
	r, err := New([]string{"redis-a:6379", "redis-b:6379", "redis-c:6379"}, 0)
	require.NoError(t, err)
	for _, c := range []struct {
		key   string
		shard int
		hash  uint64
	}{
		{"", 0, 0xefd01f60ba992926},
		{"a", 0, 0x82a2a958a9bece5b},
		{"device-1", 1, 0xe340ac1c4190ad44},
		{"01JABCDEF0000000000000000", 1, 0xbb24581281d2fa2e},
		{"user:42", 2, 0x998817bee6718248},
	} {
		require.Equal(t, c.hash, Hash(c.key), "hash of %q", c.key)
		require.Equal(t, c.shard, r.Locate(c.key), "shard of %q", c.key)
	}
}

func TestNameOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	a, err := New([]string{"x", "y", "z"}, 0)
	require.NoError(t, err)
	b, err := New([]string{"z", "x", "y"}, 0)
	require.NoError(t, err)
	for _, k := range keys(5000) {
		require.Equal(t, a.Name(a.Locate(k)), b.Name(b.Locate(k)), k)
	}
}

func TestBalance(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 3, 8, 16} {
		t.Run(fmt.Sprintf("shards=%d", n), func(t *testing.T) {
			t.Parallel()
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("10.0.0.%d:6379", i+1)
			}
			r, err := New(names, 0)
			require.NoError(t, err)
			const total = 200_000
			count := make([]int, n)
			for _, k := range keys(total) {
				count[r.Locate(k)]++
			}
			fair := float64(total) / float64(n)
			for i, c := range count {
				require.InDelta(t, fair, float64(c), 0.15*fair, "shard %d holds %d of %d", i, c, total)
			}
		})
	}
}

// TestMinimalMovement: a fourth shard takes about a quarter of the keys,
// and only keys that move to it change shard.
func TestMinimalMovement(t *testing.T) {
	t.Parallel()
	before, err := New([]string{"a", "b", "c"}, 0)
	require.NoError(t, err)
	after, err := New([]string{"a", "b", "c", "d"}, 0)
	require.NoError(t, err)
	moved := 0
	all := keys(100_000)
	for _, k := range all {
		from, to := before.Name(before.Locate(k)), after.Name(after.Locate(k))
		if from != to {
			require.Equal(t, "d", to, "key %s moved between old shards", k)
			moved++
		}
	}
	require.InDelta(t, 0.25, float64(moved)/float64(len(all)), 0.05)
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	for _, names := range [][]string{nil, {""}, {"a", "a"}} {
		_, err := New(names, 0)
		require.Error(t, err, "%q", names)
	}
	_, err := New([]string{"a"}, -1)
	require.Error(t, err)
}

func TestSplit(t *testing.T) {
	t.Parallel()
	r, err := New([]string{"a", "b", "c"}, 0)
	require.NoError(t, err)
	ks := keys(1000)
	groups := r.Split(len(ks), func(i int) string { return ks[i] })
	require.Len(t, groups, 3)
	var all []int
	for s, g := range groups {
		require.True(t, slices.IsSorted(g))
		for _, i := range g {
			require.Equal(t, s, r.Locate(ks[i]))
		}
		all = append(all, g...)
	}
	slices.Sort(all)
	require.Len(t, all, len(ks))
	for i := range all {
		require.Equal(t, i, all[i])
	}

	one, err := New([]string{"only"}, 0)
	require.NoError(t, err)
	require.Equal(t, [][]int{{0, 1, 2}}, one.Split(3, func(i int) string { return ks[i] }))
	require.Equal(t, [][]int{nil}, one.Split(0, nil))
}

func TestFan(t *testing.T) {
	t.Parallel()
	boom := errors.New("shard down")
	groups := [][]int{{0, 3}, nil, {1}, {2, 4}}
	out := make([]int, 5)
	var calls atomic.Int32
	errs := Fan(t.Context(), groups, func(_ context.Context, s int, pos []int) error {
		calls.Add(1)
		if s == 2 {
			return boom
		}
		for _, p := range pos {
			out[p] = s + 10
		}
		return nil
	})
	require.EqualValues(t, 3, calls.Load(), "empty groups are skipped")
	require.Equal(t, []error{nil, nil, boom, nil}, errs)
	require.Equal(t, []int{10, 0, 13, 10, 13}, out)
	require.Equal(t, []error{nil}, Fan(t.Context(), [][]int{nil}, nil))
}

func BenchmarkLocate(b *testing.B) {
	for _, n := range []int{2, 16} {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("s%d", i)
			}
			r, err := New(names, 0)
			require.NoError(b, err)
			ks := keys(1024)
			i := 0
			for b.Loop() {
				r.Locate(ks[i&1023])
				i++
			}
		})
	}
}
