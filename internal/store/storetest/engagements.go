package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// engagements checks store.Engagements, for a store that has it: it skips
// when the opened store is no Engagements or answers store.ErrUnsupported.
// Its concurrent checks run on every backend: a report is counted once
// through a marker that one write creates (a unique key), never through a
// filtered update, so no server's way of applying filters matters.
func (s suite) engagements(t *testing.T) {
	t.Run("once_per_device_and_kind", func(t *testing.T) {
		e, en := s.openEngagements(t)
		p, q := newPush(e, "app1"), newPush(e, "app1")
		for _, p := range []*store.Push{p, q} {
			_, err := e.CreatePush(e.ctx, p, "")
			require.NoError(t, err)
		}
		other := store.Counts{Targeted: 3, Delivered: 2, Acked: 1, DeadTokens: 1}
		require.NoError(t, e.AddCounts(e.ctx, p.ID, other))

		requireEngage(t, e, en, p.ID, "d1", store.EngagementOpen, true)
		requireEngage(t, e, en, p.ID, "d1", store.EngagementOpen, false)
		requireCounts(t, e, p.ID, other.Add(store.Counts{Opened: 1}))
		requireEngage(t, e, en, p.ID, "d1", store.EngagementClick, true)
		requireEngage(t, e, en, p.ID, "d1", store.EngagementClick, false)
		requireEngage(t, e, en, p.ID, "d1", store.EngagementOpen, false)
		requireCounts(t, e, p.ID, other.Add(store.Counts{Opened: 1, Clicked: 1}))
		requireEngage(t, e, en, p.ID, "d2", store.EngagementOpen, true)
		requireEngage(t, e, en, p.ID, "d2", store.EngagementOpen, false)
		requireCounts(t, e, p.ID, other.Add(store.Counts{Opened: 2, Clicked: 1}))

		requireCounts(t, e, q.ID, store.Counts{})
		requireEngage(t, e, en, q.ID, "d1", store.EngagementOpen, true)
		requireCounts(t, e, q.ID, store.Counts{Opened: 1})
		requireCounts(t, e, p.ID, other.Add(store.Counts{Opened: 2, Clicked: 1}))

		// Counts added later add to the engagements.
		require.NoError(t, e.AddCounts(e.ctx, p.ID, store.Counts{Acked: 1}))
		require.NoError(t, e.FinishPush(e.ctx, p.ID, store.Counts{Offline: 1}))
		want := other.Add(store.Counts{Acked: 1, Offline: 1, Opened: 2, Clicked: 1})
		got, err := e.Push(e.ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, want, got.Counts)
		require.Equal(t, store.PushDone, got.State)
	})
	t.Run("unknown_push_or_kind", func(t *testing.T) {
		e, en := s.openEngagements(t)
		p := newPush(e, "app1")
		_, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)

		counted, err := en.CountEngagement(e.ctx, "nope", "d1", store.EngagementClick)
		require.ErrorIs(t, err, store.ErrNotFound)
		require.False(t, counted)
		for _, kind := range []string{"", "opened", "Open", "share"} {
			counted, err := en.CountEngagement(e.ctx, p.ID, "d1", kind)
			require.Error(t, err, "kind %q", kind)
			require.NotErrorIs(t, err, store.ErrNotFound, "kind %q", kind)
			require.False(t, counted, "kind %q", kind)
		}
		requireCounts(t, e, p.ID, store.Counts{})
		requireEngage(t, e, en, p.ID, "d1", store.EngagementOpen, true)
		requireEngage(t, e, en, p.ID, "d1", store.EngagementClick, true)
		requireCounts(t, e, p.ID, store.Counts{Opened: 1, Clicked: 1})
		_, err = e.Push(e.ctx, "nope")
		require.ErrorIs(t, err, store.ErrNotFound, "an unknown push stays unknown")
	})
	t.Run("concurrent", func(t *testing.T) {
		// Reports of one device repeated at once (a retry racing the
		// original, two connections) count once per kind; those of
		// different devices all count.
		e, en := s.openEngagements(t)
		p := newPush(e, "app1")
		_, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		const devices, callers = 6, 8
		kinds := []string{store.EngagementOpen, store.EngagementClick}
		counted := make([][][callers]bool, devices)
		for d := range counted {
			counted[d] = make([][callers]bool, len(kinds))
		}
		var failed errs
		var wg sync.WaitGroup
		start := make(chan struct{})
		for d := range devices {
			for k, kind := range kinds {
				for c := range callers {
					wg.Go(func() {
						<-start
						ok, err := en.CountEngagement(e.ctx, p.ID, fmt.Sprint("d", d), kind)
						failed.add(err)
						counted[d][k][c] = ok
					})
				}
			}
		}
		close(start)
		wg.Wait()
		require.NoError(t, failed.err())
		for d := range devices {
			for k, kind := range kinds {
				n := 0
				for _, ok := range counted[d][k] {
					if ok {
						n++
					}
				}
				require.Equal(t, 1, n, "device d%d, kind %s: counted by %d callers", d, kind, n)
			}
		}
		requireCounts(t, e, p.ID, store.Counts{Opened: devices, Clicked: devices})
	})
}

// openEngagements opens a store for the engagement checks, and skips when
// it does not count engagements.
func (s suite) openEngagements(t *testing.T) (env, store.Engagements) {
	t.Helper()
	e := s.open(t, Config{})
	en, ok := e.Store.(store.Engagements)
	if !ok {
		t.Skip("the store does not count engagements")
	}
	if _, err := en.CountEngagement(e.ctx, "probe", "d", store.EngagementOpen); errors.Is(err, store.ErrUnsupported) {
		t.Skip("the store does not count engagements")
	}
	return e, en
}

func requireEngage(t *testing.T, e env, en store.Engagements, pushID, deviceID, kind string, want bool) {
	t.Helper()
	counted, err := en.CountEngagement(e.ctx, pushID, deviceID, kind)
	require.NoError(t, err)
	require.Equal(t, want, counted, "%s of push %s by %s", kind, pushID, deviceID)
}

func requireCounts(t *testing.T, e env, id string, want store.Counts) {
	t.Helper()
	got, err := e.Push(e.ctx, id)
	require.NoError(t, err)
	require.Equal(t, want, got.Counts, "push %s", id)
}
