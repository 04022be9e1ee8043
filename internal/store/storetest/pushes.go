package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

func (s suite) pushes(t *testing.T) {
	t.Run("create_and_get", func(t *testing.T) {
		e := s.open(t, Config{})
		p := newPush(e, "app1")
		p.Counts = store.Counts{Targeted: 9}
		id, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		require.Equal(t, p.ID, id)

		want := *p
		want.State, want.Counts = store.PushPending, store.Counts{}
		requirePush(t, e, &want)
	})
	t.Run("not_found", func(t *testing.T) {
		e := s.open(t, Config{})
		_, err := e.Push(e.ctx, "nope")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, e.AddCounts(e.ctx, "nope", store.Counts{Acked: 1}), store.ErrNotFound)
		require.ErrorIs(t, e.FinishPush(e.ctx, "nope", store.Counts{Offline: 1}), store.ErrNotFound)
	})
	t.Run("duplicate_id", func(t *testing.T) {
		e := s.open(t, Config{})
		p := newPush(e, "app1")
		_, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		_, err = e.CreatePush(e.ctx, p, "")
		require.ErrorIs(t, err, store.ErrConflict)
	})
	t.Run("idempotency_key", func(t *testing.T) {
		e := s.open(t, Config{})
		first, retry := newPush(e, "app1"), newPush(e, "app1")
		id, err := e.CreatePush(e.ctx, first, "k1")
		require.NoError(t, err)
		require.Equal(t, first.ID, id)

		id, err = e.CreatePush(e.ctx, retry, "k1")
		require.NoError(t, err)
		require.Equal(t, first.ID, id, "a retry gets the first id")
		_, err = e.Push(e.ctx, retry.ID)
		require.ErrorIs(t, err, store.ErrNotFound, "a retry writes nothing")
		requirePending(t, e, 10, first.ID)

		other := newPush(e, "app1")
		id, err = e.CreatePush(e.ctx, other, "k2")
		require.NoError(t, err)
		require.Equal(t, other.ID, id, "another key is another push")
	})
	t.Run("idempotency_key_per_app", func(t *testing.T) {
		e := s.open(t, Config{})
		a, b := newPush(e, "app1"), newPush(e, "app2")
		id, err := e.CreatePush(e.ctx, a, "k")
		require.NoError(t, err)
		require.Equal(t, a.ID, id)
		id, err = e.CreatePush(e.ctx, b, "k")
		require.NoError(t, err)
		require.Equal(t, b.ID, id, "the same key in another app")
	})
	t.Run("idempotency_window", s.idempotencyWindow)
	t.Run("idempotency_concurrent", func(t *testing.T) {
		e := s.open(t, Config{})
		pushes := make([]*store.Push, 16)
		got := make([]string, len(pushes))
		var failed errs
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range pushes {
			pushes[i] = newPush(e, "app1")
			wg.Go(func() {
				<-start
				id, err := e.CreatePush(e.ctx, pushes[i], "same")
				failed.add(err)
				got[i] = id
			})
		}
		close(start)
		wg.Wait()
		require.NoError(t, failed.err())
		stored := 0
		for i, p := range pushes {
			require.Equal(t, got[0], got[i], "every caller gets one id")
			if _, err := e.Push(e.ctx, p.ID); err == nil {
				stored++
				require.Equal(t, got[0], p.ID)
			} else {
				require.ErrorIs(t, err, store.ErrNotFound)
			}
		}
		require.Equal(t, 1, stored, "one push is stored")
		requirePending(t, e, 10, got[0])
	})
	t.Run("counts_concurrent", func(t *testing.T) {
		e := s.open(t, Config{})
		p := newPush(e, "app1")
		_, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		delta := store.Counts{Targeted: 1, Delivered: 2, Acked: 3, Offline: 4, Failed: 5}
		var failed errs
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				for range 20 {
					failed.add(e.AddCounts(e.ctx, p.ID, delta))
				}
			})
		}
		wg.Wait()
		require.NoError(t, failed.err())
		got, err := e.Push(e.ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, store.Counts{Targeted: 1000, Delivered: 2000, Acked: 3000, Offline: 4000, Failed: 5000}, got.Counts)
	})
	t.Run("pending_and_finish", func(t *testing.T) {
		e := s.open(t, Config{})
		start := e.clock.Now()
		var pending []string
		for i := range 5 {
			p := newPush(e, "app1")
			p.ID = ids.At(start.Add(time.Duration(i) * time.Millisecond))
			_, err := e.CreatePush(e.ctx, p, "")
			require.NoError(t, err)
			pending = append(pending, p.ID)
		}
		requirePending(t, e, 10, pending...)
		requirePending(t, e, 2, pending[:2]...)

		require.NoError(t, e.AddCounts(e.ctx, pending[1], store.Counts{Acked: 2}))
		require.NoError(t, e.FinishPush(e.ctx, pending[1], store.Counts{Offline: 3, Failed: 1}))
		require.NoError(t, e.FinishPush(e.ctx, pending[1], store.Counts{Offline: 3, Failed: 1}), "finishing twice")
		got, err := e.Push(e.ctx, pending[1])
		require.NoError(t, err)
		require.Equal(t, store.PushDone, got.State)
		require.Equal(t, store.Counts{Acked: 2, Offline: 3, Failed: 1}, got.Counts,
			"counts survive finishing; the routing counts are added once")
		require.NoError(t, e.AddCounts(e.ctx, pending[1], store.Counts{Acked: 1}), "late acks still count")

		requirePending(t, e, 10, pending[0], pending[2], pending[3], pending[4])
		for _, id := range pending {
			require.NoError(t, e.FinishPush(e.ctx, id, store.Counts{}))
		}
		requirePending(t, e, 10)
	})
	t.Run("finish_races", func(t *testing.T) {
		// Two routings of one push that finish at once (a resume and a
		// sweep): its routing counts are added once.
		e := s.open(t, Config{})
		p := newPush(e, "app1")
		_, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		var wg sync.WaitGroup
		var failed errs
		for range 8 {
			wg.Go(func() { failed.add(e.FinishPush(e.ctx, p.ID, store.Counts{Offline: 2})) })
		}
		wg.Wait()
		require.NoError(t, failed.err())
		got, err := e.Push(e.ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, store.Counts{Offline: 2}, got.Counts)
		require.Equal(t, store.PushDone, got.State)
	})
}

// idempotencyWindow checks that a key is forgotten after the window.
func (s suite) idempotencyWindow(t *testing.T) {
	window := time.Hour
	if s.h.ServerClock {
		window = time.Second
	}
	e := s.open(t, Config{IdempotencyWindow: window})
	first := newPush(e, "app1")
	_, err := e.CreatePush(e.ctx, first, "k")
	require.NoError(t, err)

	if s.h.ServerClock {
		require.Eventually(t, func() bool {
			p := newPush(e, "app1")
			id, err := e.CreatePush(e.ctx, p, "k")
			return err == nil && id == p.ID
		}, 20*window, window/20, "the key lapses")
		return
	}
	e.clock.Add(window - time.Second)
	retry := newPush(e, "app1")
	id, err := e.CreatePush(e.ctx, retry, "k")
	require.NoError(t, err)
	require.Equal(t, first.ID, id, "within the window")

	e.clock.Add(2 * time.Second)
	id, err = e.CreatePush(e.ctx, retry, "k")
	require.NoError(t, err)
	require.Equal(t, retry.ID, id, "after the window")

	third := newPush(e, "app1")
	id, err = e.CreatePush(e.ctx, third, "k")
	require.NoError(t, err)
	require.Equal(t, retry.ID, id, "the new push holds the key now")
}

func newPush(e env, appID string) *store.Push {
	now := e.clock.Now()
	return &store.Push{
		ID:    ids.At(now),
		AppID: appID,
		Notification: store.Notification{
			Title: "Hello", Body: "World", Data: map[string]string{"deep_link": "app://x"},
		},
		Audience:    store.Audience{DeviceIDs: []string{"d1", "d2"}, Aliases: []string{"alice"}},
		Targets:     []string{"d1", "d2", "d3"},
		CreatedAt:   now,
		ExpiresAt:   now.Add(time.Hour),
		Fingerprint: "sha256:abc",
	}
}

func normPush(p *store.Push) *store.Push {
	c := *p
	c.Notification.Data = nilIfEmptyMap(c.Notification.Data)
	c.Audience.DeviceIDs = nilIfEmpty(c.Audience.DeviceIDs)
	c.Audience.Aliases = nilIfEmpty(c.Audience.Aliases)
	c.Targets = nilIfEmpty(c.Targets)
	c.CreatedAt, c.ExpiresAt = msUTC(c.CreatedAt), msUTC(c.ExpiresAt)
	return &c
}

func requirePush(t *testing.T, e env, want *store.Push) {
	t.Helper()
	got, err := e.Push(e.ctx, want.ID)
	require.NoError(t, err)
	require.Equal(t, normPush(want), normPush(got))
}

func requirePending(t *testing.T, e env, limit int, want ...string) {
	t.Helper()
	got, err := e.PendingPushes(e.ctx, limit)
	require.NoError(t, err)
	require.Equal(t, nilIfEmpty(want), nilIfEmpty(got), "pending pushes, limit %d", limit)
}

func (s suite) close(t *testing.T) {
	t.Run("twice", func(t *testing.T) {
		e := s.open(t, Config{})
		require.NoError(t, e.Close())
		require.NoError(t, e.Close())
		_, err := e.AppByID(e.ctx, "x")
		require.Error(t, err, "a call after Close fails")
	})
}
