package pebblestore

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

func TestNewPushesClaim(t *testing.T) {
	n := newNewPushes("b", 2)
	require.False(t, n.claim("a"), "at or below the newest at open")
	require.False(t, n.claim("b"))
	require.True(t, n.claim("d"))
	require.False(t, n.claim("d"), "an id is claimed once")
	require.True(t, n.claim("c"), "an older id made by this process")
	require.True(t, n.claim("e"), "the set is full: d is dropped")
	require.Equal(t, "d", n.floor)
	require.False(t, n.claim("d"), "a dropped id is at or below floor")
	require.False(t, n.claim("c"), "at or below floor")
	require.False(t, n.claim("e"), "still kept")
	require.True(t, n.claim("f"))
	require.Equal(t, "d", n.floor, "c was dropped, and it is below d")
}

// Of many creates of one id at once, exactly one succeeds, whether the id
// is newer than every stored one or not.
func TestCreatePushSameIDAtOnce(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	now := time.Now()
	for _, id := range []string{ids.At(now), ids.At(now.Add(-time.Hour))} {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = s.CreatePush(t.Context(), &store.Push{ID: id, AppID: "app", CreatedAt: now}, "")
			})
		}
		wg.Wait()
		created, conflicts := 0, 0
		for _, err := range errs {
			if err == nil {
				created++
				continue
			}
			require.ErrorIs(t, err, store.ErrConflict)
			conflicts++
		}
		require.Equal(t, 1, created, id)
		require.Equal(t, 7, conflicts, id)
	}
}

// The newest push id is read back at open, so an id stored before a
// restart is still found taken; an older free id is still accepted.
func TestCreatePushAfterReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	now := time.Now()
	old, stored := ids.At(now.Add(-time.Minute)), ids.At(now)

	s, err := Open(Config{Dir: dir})
	require.NoError(t, err)
	_, err = s.CreatePush(ctx, &store.Push{ID: stored, AppID: "app", CreatedAt: now}, "")
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = open(t, Config{Dir: dir})
	require.Equal(t, stored, s.newPushes.floor)
	_, err = s.CreatePush(ctx, &store.Push{ID: stored, AppID: "app", CreatedAt: now}, "")
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.CreatePush(ctx, &store.Push{ID: old, AppID: "app", CreatedAt: now}, "")
	require.NoError(t, err, "an older id that is free")
	_, err = s.CreatePush(ctx, &store.Push{ID: old, AppID: "app", CreatedAt: now}, "")
	require.ErrorIs(t, err, store.ErrConflict)
	p, err := s.Push(ctx, old)
	require.NoError(t, err)
	require.Equal(t, old, p.ID)
}

func TestNewPushesOfEmptyStore(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	require.Empty(t, s.newPushes.floor)
}
