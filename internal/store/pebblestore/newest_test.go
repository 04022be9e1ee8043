package pebblestore

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

func TestNewestPushClaim(t *testing.T) {
	var n newestPush
	require.True(t, n.claim("b"))
	require.False(t, n.claim("b"), "an id is claimed once")
	require.False(t, n.claim("a"), "an older id is not known free")
	require.True(t, n.claim("c"))
	require.Equal(t, "c", n.id)
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
	require.Equal(t, stored, s.newest.id)
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

func TestNewestPushOfEmptyStore(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	require.Empty(t, s.newest.id)
}
