package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

func (s suite) apps(t *testing.T) {
	t.Run("create_and_get", func(t *testing.T) {
		e := s.open(t, Config{})
		a := newApp(e)
		require.NoError(t, e.CreateApp(e.ctx, a))

		got, err := e.AppByID(e.ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, normApp(a), normApp(got))
		got, err = e.AppByKey(e.ctx, a.Key)
		require.NoError(t, err)
		require.Equal(t, normApp(a), normApp(got))
	})
	t.Run("not_found", func(t *testing.T) {
		e := s.open(t, Config{})
		_, err := e.AppByID(e.ctx, "nope")
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = e.AppByKey(e.ctx, "nope")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
	t.Run("conflict", func(t *testing.T) {
		e := s.open(t, Config{})
		a := newApp(e)
		require.NoError(t, e.CreateApp(e.ctx, a))

		sameID := newApp(e)
		sameID.ID = a.ID
		require.ErrorIs(t, e.CreateApp(e.ctx, sameID), store.ErrConflict)
		_, err := e.AppByKey(e.ctx, sameID.Key)
		require.ErrorIs(t, err, store.ErrNotFound, "a refused app leaves no key behind")

		sameKey := newApp(e)
		sameKey.Key = a.Key
		require.ErrorIs(t, e.CreateApp(e.ctx, sameKey), store.ErrConflict)
		_, err = e.AppByID(e.ctx, sameKey.ID)
		require.ErrorIs(t, err, store.ErrNotFound, "a refused app is not stored")

		got, err := e.AppByKey(e.ctx, a.Key)
		require.NoError(t, err)
		require.Equal(t, a.ID, got.ID, "the first app keeps its key")
	})
}

func newApp(e env) *store.App {
	id := ids.New()
	return &store.App{
		ID:         id,
		Name:       "app " + id,
		Key:        "key-" + id,
		SecretHash: ids.Secret(32),
		CreatedAt:  e.clock.Now(),
	}
}

func normApp(a *store.App) store.App {
	c := *a
	c.SecretHash = nilIfEmpty(c.SecretHash)
	c.CreatedAt = msUTC(c.CreatedAt)
	return c
}
