package pebblestore

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

func TestKnownPushes(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir})
	require.NoError(t, err)
	p := newPush(0)
	_, err = s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	require.True(t, s.known.has(p.ID))
	require.NoError(t, s.Close())

	s = open(t, Config{Dir: dir})
	require.False(t, s.known.has(p.ID))
	require.NoError(t, s.AddCounts(ctx, p.ID, store.Counts{Delivered: 1}))
	require.True(t, s.known.has(p.ID))
	require.NoError(t, s.AddCounts(ctx, p.ID, store.Counts{Acked: 1}))
	got, err := s.Push(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, store.Counts{Delivered: 1, Acked: 1}, got.Counts)

	require.ErrorIs(t, s.AddCounts(ctx, "nope", store.Counts{Acked: 1}), store.ErrNotFound)
	require.False(t, s.known.has("nope"))
	require.ErrorIs(t, s.FinishPush(ctx, "nope", store.Counts{}), store.ErrNotFound)
}
