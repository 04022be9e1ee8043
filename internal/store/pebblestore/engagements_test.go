package pebblestore

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// An engagement's marker is a key of its own per push, device and kind,
// kept across a reopen: a report repeated later is not counted again.
// Ids are length-prefixed, so push "ab" with device "c" is not push "a"
// with device "bc".
func TestEngagementMarkers(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	p := newPush(1)
	p.ID = "ab"
	_, err := s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	q := newPush(2)
	q.ID = "a"
	_, err = s.CreatePush(ctx, q, "")
	require.NoError(t, err)

	counted, err := s.CountEngagement(ctx, "ab", "c", store.EngagementOpen)
	require.NoError(t, err)
	require.True(t, counted)
	ok, err := s.exists(engagedKey("ab", "c", store.EngagementOpen))
	require.NoError(t, err)
	require.True(t, ok, "the marker is written")
	require.Equal(t, 1, countPrefix(t, s, tagEngaged))
	counted, err = s.CountEngagement(ctx, "a", "bc", store.EngagementOpen)
	require.NoError(t, err)
	require.True(t, counted, "another push and device")
	require.Equal(t, 2, countPrefix(t, s, tagEngaged))

	_, err = s.CountEngagement(ctx, "missing", "c", store.EngagementOpen)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.CountEngagement(ctx, "ab", "c", "share")
	require.Error(t, err)
	require.Equal(t, 2, countPrefix(t, s, tagEngaged), "no marker for an unknown push or kind")

	require.NoError(t, s.Close())
	s = open(t, Config{Dir: dir})
	counted, err = s.CountEngagement(ctx, "ab", "c", store.EngagementOpen)
	require.NoError(t, err)
	require.False(t, counted, "counted before the reopen")
	counted, err = s.CountEngagement(ctx, "ab", "c", store.EngagementClick)
	require.NoError(t, err)
	require.True(t, counted)
	for id, want := range map[string]store.Counts{"ab": {Opened: 1, Clicked: 1}, "a": {Opened: 1}} {
		got, err := s.Push(ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, got.Counts, "push %s", id)
	}
}
