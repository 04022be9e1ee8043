package pebblestore

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// vectorCounts is the encoding of counters written before they were
// sparse: the whole vector as big-endian int64s.
func vectorCounts(c store.Counts) []byte {
	var b []byte
	for _, x := range c.Vector() {
		b = binary.BigEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func TestCountsEncoding(t *testing.T) {
	for _, c := range []store.Counts{
		{},
		{Delivered: 1},
		{Acked: 1, Offline: -1},
		{Targeted: math.MaxInt64, DeadTokens: math.MinInt64},
		{Targeted: 1, Delivered: 2, Acked: 3, Offline: 4, Failed: 5, Relayed: 6, RelayFailed: 7, Expired: 8, NoChannel: 9, DeadTokens: 10,
			Opened: 11, Clicked: 12},
		{Opened: 1},
		{Clicked: math.MinInt64, Opened: math.MaxInt64},
	} {
		b := encodeCounts(c)
		got, err := decodeCounts(b)
		require.NoError(t, err)
		require.Equal(t, c, got)
		old, err := decodeCounts(vectorCounts(c))
		require.NoError(t, err)
		require.Equal(t, c, old, "the earlier encoding still reads")
	}
	require.Len(t, encodeCounts(store.Counts{Delivered: 1}), 3, "one counter: marker, index, value")
	require.Len(t, encodeCounts(store.Counts{}), 1)
	require.Equal(t, []byte{countsSparse, 11, 2}, encodeCounts(store.Counts{Clicked: 1}), "clicked is index 11")

	for name, b := range map[string][]byte{
		"empty":           nil,
		"vector not 8s":   make([]byte, 12),
		"index too large": {countsSparse, 15, 2},
		"index repeated":  {countsSparse, 1, 2, 1, 2},
		"index falling":   {countsSparse, 2, 2, 1, 2},
		"zero value":      {countsSparse, 1, 0},
		"value cut":       {countsSparse, 1, 0x80},
		"no value":        {countsSparse, 1},
	} {
		_, err := decodeCounts(b)
		require.Error(t, err, name)
	}
}

// Records written when there were ten counters, before Opened and
// Clicked, read with those two zero: the dense vector of ten int64s and
// the sparse encoding with indexes up to 9.
func TestCountsTenCounterEncodings(t *testing.T) {
	ten := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, -10}
	want := store.Counts{Targeted: 1, Delivered: 2, Acked: 3, Offline: 4, Failed: 5, Relayed: 6,
		RelayFailed: 7, Expired: 8, NoChannel: 9, DeadTokens: -10}
	var dense []byte
	sparse := []byte{countsSparse}
	for i, x := range ten {
		dense = binary.BigEndian.AppendUint64(dense, uint64(x))
		sparse = binary.AppendVarint(append(sparse, byte(i)), x)
	}
	require.Len(t, dense, 80)
	for name, b := range map[string][]byte{"dense": dense, "sparse": sparse} {
		got, err := decodeCounts(b)
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
	}
	require.Equal(t, sparse, encodeCounts(want), "zero new counters take no bytes")

	// Merged in the database with operands of the new counters.
	ctx := t.Context()
	s := open(t, Config{Dir: t.TempDir()})
	p := newPush(1)
	_, err := s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	require.NoError(t, s.db.Merge(countsKey(p.ID), dense, nil))
	require.NoError(t, s.AddCounts(ctx, p.ID, store.Counts{Opened: 2, Clicked: 1}))
	require.NoError(t, s.db.Merge(countsKey(p.ID), sparse, nil))
	want2 := want.Add(want)
	want2.Opened, want2.Clicked = 2, 1
	got, err := s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, want2, got.Counts)
	require.NoError(t, s.db.Flush())
	got, err = s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, want2, got.Counts, "after the sum is written out")
}

// Operands of both encodings, merged in the database, add up; the sum is
// written sparse.
func TestCountsMergeMixesEncodings(t *testing.T) {
	ctx := t.Context()
	s := open(t, Config{Dir: t.TempDir()})
	p := newPush(1)
	_, err := s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	require.NoError(t, s.db.Merge(countsKey(p.ID), vectorCounts(store.Counts{Targeted: 3, Delivered: 2}), nil))
	require.NoError(t, s.AddCounts(ctx, p.ID, store.Counts{Delivered: 1, Acked: 2}))
	want := store.Counts{Targeted: 3, Delivered: 3, Acked: 2}
	got, err := s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, want, got.Counts)

	require.NoError(t, s.db.Flush()) // the merge's sum is written out
	raw, ok, err := s.get(countsKey(p.ID))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, encodeCounts(want), raw)
}

func FuzzDecodeCounts(f *testing.F) {
	f.Add(encodeCounts(store.Counts{Delivered: 1}))
	f.Add(encodeCounts(store.Counts{Targeted: -5, DeadTokens: math.MaxInt64}))
	f.Add(encodeCounts(store.Counts{Opened: 3, Clicked: -1}))
	f.Add(vectorCounts(store.Counts{Acked: 7}))
	f.Add([]byte{countsSparse, 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCounts(b)
		if err != nil {
			return
		}
		again, err := decodeCounts(encodeCounts(c))
		require.NoError(t, err)
		require.Equal(t, c, again)
	})
}
