package storetest

import (
	"math/rand/v2"
	"testing"
	"time"

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
	t.Run("list", s.listApps)
}

// listApps pages through apps by id, two at a time.
func (s suite) listApps(t *testing.T) {
	e := s.open(t, Config{})
	page, err := e.ListApps(e.ctx, "", 10)
	require.NoError(t, err)
	require.Empty(t, page, "no apps yet")

	start := e.clock.Now()
	want := make([]*store.App, 7)
	for i := range want {
		a := newApp(e)
		a.ID = ids.At(start.Add(time.Duration(i) * time.Millisecond))
		a.Name, a.Key = "app "+a.ID, "key-"+a.ID
		want[i] = a
	}
	// Created out of order: the list is by id, not by insertion.
	for _, i := range rand.Perm(len(want)) {
		require.NoError(t, e.CreateApp(e.ctx, want[i]))
	}
	wantIDs := make([]string, len(want))
	for i, a := range want {
		wantIDs[i] = a.ID
	}

	var got []string
	var sizes []int
	after := ""
	for range len(want) + 2 {
		page, err := e.ListApps(e.ctx, after, 2)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		sizes = append(sizes, len(page))
		for _, a := range page {
			got = append(got, a.ID)
		}
		after = page[len(page)-1].ID
	}
	require.Equal(t, []int{2, 2, 2, 1}, sizes)
	require.Equal(t, wantIDs, got, "every app once, by id")

	page, err = e.ListApps(e.ctx, "", len(want)+5)
	require.NoError(t, err)
	require.Len(t, page, len(want), "a limit above the count lists all")
	for i, a := range page {
		require.Equal(t, normApp(want[i]), normApp(a), "app %d", i)
	}

	page, err = e.ListApps(e.ctx, wantIDs[2], 2)
	require.NoError(t, err)
	require.Equal(t, wantIDs[3:5], appIDs(page), "after is exclusive")
	page, err = e.ListApps(e.ctx, wantIDs[2]+"z", 1)
	require.NoError(t, err)
	require.Equal(t, wantIDs[3:4], appIDs(page), "after need not be an app's id")
	page, err = e.ListApps(e.ctx, wantIDs[len(want)-1], 2)
	require.NoError(t, err)
	require.Empty(t, page, "nothing after the last app")
	page, err = e.ListApps(e.ctx, "\x7f", 2)
	require.NoError(t, err)
	require.Empty(t, page, "nothing past every id")
	for _, limit := range []int{0, -1} {
		page, err = e.ListApps(e.ctx, "", limit)
		require.NoError(t, err)
		require.Empty(t, page, "limit %d", limit)
	}
}

func appIDs(apps []*store.App) []string {
	out := make([]string, len(apps))
	for i, a := range apps {
		out[i] = a.ID
	}
	return out
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
