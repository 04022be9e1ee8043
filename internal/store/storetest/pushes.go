package storetest

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
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
	t.Run("tags_and_rate", func(t *testing.T) {
		e := s.open(t, Config{})
		p := newPush(e, "app1")
		p.Audience, p.Targets, p.Rate = store.Audience{Tags: []string{"sports", "news"}}, nil, 250
		_, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		want := *p
		want.State = store.PushPending
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
		requireRetried(t, e, first, retry, "k1")
		requirePending(t, e, 10, first.ID)

		other := newPush(e, "app1")
		id, err := e.CreatePush(e.ctx, other, "k2")
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
	t.Run("scheduled", s.scheduled)
	t.Run("engagements", s.engagements)
	t.Run("by_app", s.pushesByApp)
	t.Run("leases", s.leases)
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
	c.CreatedAt, c.ExpiresAt, c.SendAt = msUTC(c.CreatedAt), msUTC(c.ExpiresAt), msUTC(c.SendAt)
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

// scheduled checks pushes created with a send time: DuePushes lists them
// once it comes, and EndSchedule starts or cancels each exactly once.
func (s suite) scheduled(t *testing.T) {
	t.Run("create_and_get", func(t *testing.T) {
		e := s.open(t, Config{})
		now := e.clock.Now()
		p := newScheduledPush(e, now.Add(time.Hour))
		id, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		require.Equal(t, p.ID, id)
		want := *p
		want.Counts = store.Counts{}
		requirePush(t, e, &want)
		got, err := e.Push(e.ctx, p.ID)
		require.NoError(t, err)
		require.True(t, got.SendAt.Equal(p.SendAt), "send time %v, stored %v", p.SendAt, got.SendAt)

		other := newPush(e, "app1")
		_, err = e.CreatePush(e.ctx, other, "")
		require.NoError(t, err)
		requirePending(t, e, 10, other.ID)
		requireDue(t, e, now, 10)
		requireDue(t, e, now.Add(time.Hour-time.Millisecond), 10)
		requireDue(t, e, now.Add(time.Hour), 10, p.ID)
		requireDue(t, e, now.Add(2*time.Hour), 10, p.ID)
		requireDue(t, e, now.Add(2*time.Hour), 0)
	})
	t.Run("due_in_order", func(t *testing.T) {
		e := s.open(t, Config{})
		now := e.clock.Now()
		var at []*store.Push // by the hours from now they are sent at
		for _, h := range []int{3, 1, 2, 2} {
			p := newScheduledPush(e, now.Add(time.Duration(h)*time.Hour))
			if h == 2 && len(at) == 3 {
				p.ID = ids.At(now.Add(-time.Minute)) // sorts before its twin
			}
			_, err := e.CreatePush(e.ctx, p, "")
			require.NoError(t, err)
			at = append(at, p)
		}
		late, early, twin, first := at[0], at[1], at[2], at[3]
		require.Less(t, first.ID, twin.ID)
		past := newScheduledPush(e, now.Add(-time.Minute))
		_, err := e.CreatePush(e.ctx, past, "")
		require.NoError(t, err)

		requireDue(t, e, now, 10, past.ID)
		requireDue(t, e, now.Add(2*time.Hour), 10, past.ID, early.ID, first.ID, twin.ID)
		requireDue(t, e, now.Add(4*time.Hour), 10, past.ID, early.ID, first.ID, twin.ID, late.ID)
		requireDue(t, e, now.Add(4*time.Hour), 3, past.ID, early.ID, first.ID)
		requirePending(t, e, 10)
	})
	t.Run("start", func(t *testing.T) {
		e := s.open(t, Config{})
		now := e.clock.Now()
		p := newScheduledPush(e, now.Add(time.Hour))
		_, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		require.NoError(t, e.AddCounts(e.ctx, p.ID, store.Counts{Targeted: 1}))
		require.NoError(t, e.FinishPush(e.ctx, p.ID, store.Counts{Offline: 5}), "finishing a scheduled push")
		requireState(t, e, p.ID, store.PushScheduled, store.Counts{Targeted: 1})

		moved, err := e.EndSchedule(e.ctx, p.ID, store.PushPending)
		require.NoError(t, err)
		require.True(t, moved)
		requireState(t, e, p.ID, store.PushPending, store.Counts{Targeted: 1})
		requirePending(t, e, 10, p.ID)
		requireDue(t, e, now.Add(2*time.Hour), 10)
		for _, to := range []string{store.PushPending, store.PushCancelled} {
			moved, err = e.EndSchedule(e.ctx, p.ID, to)
			require.NoError(t, err)
			require.False(t, moved, "started already: %s", to)
		}
		requireState(t, e, p.ID, store.PushPending, store.Counts{Targeted: 1})

		require.NoError(t, e.FinishPush(e.ctx, p.ID, store.Counts{Offline: 2}))
		requireState(t, e, p.ID, store.PushDone, store.Counts{Targeted: 1, Offline: 2})
		requirePending(t, e, 10)
		moved, err = e.EndSchedule(e.ctx, p.ID, store.PushCancelled)
		require.NoError(t, err)
		require.False(t, moved, "done")
		requireState(t, e, p.ID, store.PushDone, store.Counts{Targeted: 1, Offline: 2})
	})
	t.Run("cancel", func(t *testing.T) {
		e := s.open(t, Config{})
		now := e.clock.Now()
		p, kept := newScheduledPush(e, now.Add(time.Hour)), newScheduledPush(e, now.Add(time.Hour))
		for _, x := range []*store.Push{p, kept} {
			_, err := e.CreatePush(e.ctx, x, "")
			require.NoError(t, err)
		}
		moved, err := e.EndSchedule(e.ctx, p.ID, store.PushCancelled)
		require.NoError(t, err)
		require.True(t, moved)
		requireState(t, e, p.ID, store.PushCancelled, store.Counts{})
		requirePending(t, e, 10)
		requireDue(t, e, now.Add(2*time.Hour), 10, kept.ID)
		for _, to := range []string{store.PushPending, store.PushCancelled} {
			moved, err = e.EndSchedule(e.ctx, p.ID, to)
			require.NoError(t, err)
			require.False(t, moved, "cancelled already: %s", to)
		}
		require.NoError(t, e.FinishPush(e.ctx, p.ID, store.Counts{Offline: 3}), "finishing a cancelled push")
		require.NoError(t, e.AddCounts(e.ctx, p.ID, store.Counts{Acked: 1}))
		requireState(t, e, p.ID, store.PushCancelled, store.Counts{Acked: 1})
		requirePending(t, e, 10)
		requireState(t, e, kept.ID, store.PushScheduled, store.Counts{})
	})
	t.Run("not_scheduled", func(t *testing.T) {
		e := s.open(t, Config{})
		p := newPush(e, "app1")
		p.State = store.PushPending
		p.SendAt = e.clock.Now().Add(time.Hour) // a send time alone does not schedule it
		_, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		for _, to := range []string{store.PushPending, store.PushCancelled} {
			moved, err := e.EndSchedule(e.ctx, p.ID, to)
			require.NoError(t, err)
			require.False(t, moved, "a pending push: %s", to)
		}
		requireState(t, e, p.ID, store.PushPending, store.Counts{})
		requirePending(t, e, 10, p.ID)
		requireDue(t, e, p.SendAt.Add(time.Hour), 10)

		require.NoError(t, e.FinishPush(e.ctx, p.ID, store.Counts{}))
		moved, err := e.EndSchedule(e.ctx, p.ID, store.PushCancelled)
		require.NoError(t, err)
		require.False(t, moved, "a done push")
		requireState(t, e, p.ID, store.PushDone, store.Counts{})

		for _, to := range []string{store.PushPending, store.PushCancelled} {
			_, err = e.EndSchedule(e.ctx, "nope", to)
			require.ErrorIs(t, err, store.ErrNotFound)
		}

		q := newScheduledPush(e, e.clock.Now().Add(time.Hour))
		_, err = e.CreatePush(e.ctx, q, "")
		require.NoError(t, err)
		for _, to := range []string{store.PushDone, store.PushScheduled, ""} {
			moved, err = e.EndSchedule(e.ctx, q.ID, to)
			require.Error(t, err, "to %q", to)
			require.False(t, moved)
		}
		requireState(t, e, q.ID, store.PushScheduled, store.Counts{})
	})
	t.Run("start_or_cancel_at_once", func(t *testing.T) {
		if s.h.RacyConditionalWrites {
			t.Skip("the server's filtered update is a read and a write of its own")
		}
		e := s.open(t, Config{})
		const pushes, callers = 8, 4
		var list []*store.Push
		for range pushes {
			p := newScheduledPush(e, e.clock.Now().Add(time.Hour))
			_, err := e.CreatePush(e.ctx, p, "")
			require.NoError(t, err)
			list = append(list, p)
		}
		to := func(c int) string {
			if c%2 == 0 {
				return store.PushPending
			}
			return store.PushCancelled
		}
		moved := make([][callers]bool, pushes)
		var failed errs
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, p := range list {
			for c := range callers {
				wg.Go(func() {
					<-start
					ok, err := e.EndSchedule(e.ctx, p.ID, to(c))
					failed.add(err)
					moved[i][c] = ok
				})
			}
		}
		close(start)
		wg.Wait()
		require.NoError(t, failed.err())
		var started []string
		for i, p := range list {
			winner := -1
			for c, ok := range moved[i] {
				if ok {
					require.Equal(t, -1, winner, "push %d moved by callers %d and %d", i, winner, c)
					winner = c
				}
			}
			require.NotEqual(t, -1, winner, "push %d moved by none", i)
			requireState(t, e, p.ID, to(winner), store.Counts{})
			if to(winner) == store.PushPending {
				started = append(started, p.ID)
			}
		}
		slices.Sort(started)
		requirePending(t, e, 2*pushes, started...)
		requireDue(t, e, e.clock.Now().Add(2*time.Hour), 2*pushes)
	})
	t.Run("idempotency_key", func(t *testing.T) {
		e := s.open(t, Config{})
		at := e.clock.Now().Add(time.Hour)
		first, retry := newScheduledPush(e, at), newScheduledPush(e, at)
		requireRetried(t, e, first, retry, "k1")
		requireDue(t, e, at, 10, first.ID)
		requirePending(t, e, 10)
	})
	t.Run("deferred", func(t *testing.T) {
		e := s.open(t, Config{})
		d, ok := e.Store.(store.DeferredPushes)
		if !ok {
			t.Skip("the store has no CreatePushDeferred")
		}
		p := newScheduledPush(e, e.clock.Now().Add(time.Hour))
		id, mark, err := d.CreatePushDeferred(e.ctx, p, "k")
		require.NoError(t, err)
		require.Equal(t, p.ID, id)
		require.NoError(t, d.SyncSince(e.ctx, mark))
		requireState(t, e, p.ID, store.PushScheduled, store.Counts{})
		requirePending(t, e, 10)
		requireDue(t, e, p.SendAt, 10, p.ID)
	})
}

// newScheduledPush is newPush scheduled for sendAt.
func newScheduledPush(e env, sendAt time.Time) *store.Push {
	p := newPush(e, "app1")
	p.State, p.SendAt = store.PushScheduled, sendAt
	return p
}

func requireDue(t *testing.T, e env, now time.Time, limit int, want ...string) {
	t.Helper()
	got, err := e.DuePushes(e.ctx, now, limit)
	require.NoError(t, err)
	require.Equal(t, nilIfEmpty(want), nilIfEmpty(got), "due pushes at %v, limit %d", now, limit)
}

func requireState(t *testing.T, e env, id, state string, counts store.Counts) {
	t.Helper()
	got, err := e.Push(e.ctx, id)
	require.NoError(t, err)
	require.Equal(t, state, got.State, "push %s", id)
	require.Equal(t, counts, got.Counts, "push %s", id)
}

// pushesByApp checks store.PushLister, for a store that has one: unless
// Harness.ListsPushes is set, it skips when the opened store is no
// PushLister or answers the limit-0 probe with store.ErrUnsupported.
func (s suite) pushesByApp(t *testing.T) {
	t.Run("newest_first", func(t *testing.T) {
		// Pushes of two apps, pending, done, scheduled, cancelled and
		// broadcast, created out of id order: each app lists its own, by id
		// from the newest.
		e, l := s.openPushLister(t)
		start := e.clock.Now()
		var app1, app2 []string
		var list []*store.Push
		for i := range 10 {
			app := "app1"
			if i%3 == 2 {
				app = "app2"
			}
			p := newPush(e, app)
			p.ID = ids.At(start.Add(time.Duration(i) * time.Millisecond))
			switch i % 4 {
			case 1:
				p.State, p.SendAt = store.PushScheduled, start.Add(time.Hour)
			case 2:
				p.Audience, p.Targets = store.Audience{Broadcast: true}, nil
			}
			list = append(list, p)
			if app == "app1" {
				app1 = append(app1, p.ID)
			} else {
				app2 = append(app2, p.ID)
			}
		}
		for _, i := range rand.Perm(len(list)) {
			_, err := e.CreatePush(e.ctx, list[i], "")
			require.NoError(t, err)
		}
		require.NoError(t, e.FinishPush(e.ctx, list[0].ID, store.Counts{}))
		moved, err := e.EndSchedule(e.ctx, list[1].ID, store.PushCancelled)
		require.NoError(t, err)
		require.True(t, moved)
		moved, err = e.EndSchedule(e.ctx, list[5].ID, store.PushPending)
		require.NoError(t, err)
		require.True(t, moved)
		slices.Reverse(app1)
		slices.Reverse(app2)

		requireListed(t, l, e, "app1", "", 100, app1...)
		requireListed(t, l, e, "app2", "", 100, app2...)
		requireListed(t, l, e, "app3", "", 100)
		requireListed(t, l, e, "app3", app1[0], 100)
		requireListed(t, l, e, "", "", 100)
		requireListed(t, l, e, "app1", "", 0)
		requireListed(t, l, e, "app1", app1[0], 0)
		requireListed(t, l, e, "app1", "", 3, app1[:3]...)
		requireListed(t, l, e, "app1", app1[0], 100, app1[1:]...)
		requireListed(t, l, e, "app1", app1[2], 2, app1[3:5]...)
		requireListed(t, l, e, "app1", app1[len(app1)-1], 100)
		requireListed(t, l, e, "app1", app2[0], 100, olderThan(app1, app2[0])...)
		requireListed(t, l, e, "app1", ids.At(start.Add(time.Hour)), 100, app1...)
		requireListed(t, l, e, "app1", ids.At(start.Add(-time.Hour)), 100)
		// A before that is a prefix of the oldest id (and less than every
		// other): none is less than it.
		requireListed(t, l, e, "app1", app1[len(app1)-1][:10], 100)
	})
	t.Run("pages", func(t *testing.T) {
		// 25 pushes of app1 among pushes of app2, listed in pages of 7 from
		// the newest: every page holds ids less than its before, newest
		// first, is full but the last, and the pages hold each push once.
		e, l := s.openPushLister(t)
		start := e.clock.Now()
		var want []string
		for i := range 25 {
			at := start.Add(time.Duration(i) * time.Millisecond)
			p := newPush(e, "app1")
			p.ID = ids.At(at)
			_, err := e.CreatePush(e.ctx, p, "")
			require.NoError(t, err)
			want = append(want, p.ID)
			if i%5 == 0 {
				q := newPush(e, "app2")
				q.ID = ids.At(at)
				_, err := e.CreatePush(e.ctx, q, "")
				require.NoError(t, err)
			}
		}
		slices.Reverse(want)

		newestFirst := func(a, b string) int { return -strings.Compare(a, b) }
		got := readPages(t, 7, newestFirst, func(before string) ([]string, error) {
			return l.PushIDsByApp(e.ctx, "app1", before, 7)
		})
		require.Equal(t, want, got, "every push once, newest first")

		for _, limit := range []int{1, 7, 25, 100} {
			requireListed(t, l, e, "app1", "", limit, want[:min(limit, len(want))]...)
		}
		requireListed(t, l, e, "app1", want[9], 3, want[10:13]...)
		requireListed(t, l, e, "app1", want[21], 7, want[22:]...)
	})
	t.Run("replays", func(t *testing.T) {
		// A push is listed once: an idempotent retry (pending or
		// scheduled) and a create of a taken id add nothing.
		e, l := s.openPushLister(t)
		first, retry := newPush(e, "app1"), newPush(e, "app1")
		requireRetried(t, e, first, retry, "k1")
		at := e.clock.Now().Add(time.Hour)
		sched, schedRetry := newScheduledPush(e, at), newScheduledPush(e, at)
		requireRetried(t, e, sched, schedRetry, "k2")

		_, err := e.CreatePush(e.ctx, first, "")
		require.ErrorIs(t, err, store.ErrConflict)
		requireListed(t, l, e, "app1", "", 100, sortedDesc(first.ID, sched.ID)...)

		if d, ok := e.Store.(store.DeferredPushes); ok {
			p, again := newPush(e, "app1"), newPush(e, "app1")
			id, mark, err := d.CreatePushDeferred(e.ctx, p, "k3")
			require.NoError(t, err)
			require.Equal(t, p.ID, id)
			id, _, err = d.CreatePushDeferred(e.ctx, again, "k3")
			require.NoError(t, err)
			require.Equal(t, p.ID, id, "a deferred retry gets the first id")
			require.NoError(t, d.SyncSince(e.ctx, mark))
			requireListed(t, l, e, "app1", "", 100, sortedDesc(first.ID, sched.ID, p.ID)...)
		}
	})
}

// openPushLister opens a store for a subtest of pushesByApp, and skips the
// subtest when the store lists no pushes by app (fails it when
// Harness.ListsPushes says it must).
func (s suite) openPushLister(t *testing.T) (env, store.PushLister) {
	t.Helper()
	e := s.open(t, Config{})
	skip := t.Skipf
	if s.h.ListsPushes {
		skip = t.Fatalf
	}
	l, ok := e.Store.(store.PushLister)
	if !ok {
		skip("%T is no store.PushLister", e.Store)
	}
	got, err := l.PushIDsByApp(e.ctx, "app1", "", 0)
	if errors.Is(err, store.ErrUnsupported) {
		skip("%T lists no pushes by app: %v", e.Store, err)
	}
	require.NoError(t, err, "the probe with limit 0")
	require.Empty(t, got, "the probe with limit 0")
	return e, l
}

// requireListed checks one call of PushIDsByApp.
func requireListed(t *testing.T, l store.PushLister, e env, appID, before string, limit int, want ...string) {
	t.Helper()
	got, err := l.PushIDsByApp(e.ctx, appID, before, limit)
	require.NoError(t, err)
	require.Equal(t, nilIfEmpty(want), nilIfEmpty(got), "pushes of %q before %q, limit %d", appID, before, limit)
}

// olderThan returns the ids of list, which is newest first, that are less
// than before.
func olderThan(list []string, before string) []string {
	var out []string
	for _, id := range list {
		if id < before {
			out = append(out, id)
		}
	}
	return out
}

// sortedDesc returns ids sorted newest first.
func sortedDesc(ids ...string) []string {
	c := sortedCopy(ids)
	slices.Reverse(c)
	return c
}

// leases checks store.RoutingLeases, for a backend whose harness sets
// LeasesPushes.
func (s suite) leases(t *testing.T) {
	if !s.h.LeasesPushes {
		t.Skip("the backend keeps no routing leases")
	}
	e := s.open(t, Config{})
	l, ok := e.Store.(store.RoutingLeases)
	require.True(t, ok, "%T is no store.RoutingLeases", e.Store)
	p := newPush(e, "app1")
	_, err := e.CreatePush(e.ctx, p, "")
	require.NoError(t, err)
	until, err := l.PushLease(e.ctx, p.ID)
	require.NoError(t, err)
	require.True(t, until.IsZero(), "never leased")

	at := msUTC(e.clock.Now().Add(time.Minute))
	require.NoError(t, l.LeasePush(e.ctx, p.ID, at))
	until, err = l.PushLease(e.ctx, p.ID)
	require.NoError(t, err)
	require.True(t, at.Equal(until), "lease %v, read %v", at, until)
	require.NoError(t, l.LeasePush(e.ctx, p.ID, at.Add(time.Minute)), "renewed")
	until, err = l.PushLease(e.ctx, p.ID)
	require.NoError(t, err)
	require.True(t, at.Add(time.Minute).Equal(until))
	require.NoError(t, e.FinishPush(e.ctx, p.ID, store.Counts{Offline: 1}))
	got, err := e.Push(e.ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, store.PushDone, got.State, "a lease changes nothing else")

	require.ErrorIs(t, l.LeasePush(e.ctx, "nope", at), store.ErrNotFound)
	_, err = l.PushLease(e.ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// requireRetried creates first and then retry under the same idempotency
// key: the retry gets first's id and writes nothing.
func requireRetried(t *testing.T, e env, first, retry *store.Push, key string) {
	t.Helper()
	id, err := e.CreatePush(e.ctx, first, key)
	require.NoError(t, err)
	require.Equal(t, first.ID, id)
	id, err = e.CreatePush(e.ctx, retry, key)
	require.NoError(t, err)
	require.Equal(t, first.ID, id, "a retry gets the first id")
	_, err = e.Push(e.ctx, retry.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "a retry writes nothing")
}

// readPages reads ids through fetch, a page of at most size at a time,
// each page after the cursor (the last id of the page before, "" for the
// first), until a page is short, and returns them all. cmp is the order
// the pages list ids in: each page in it, and after its cursor.
func readPages(t *testing.T, size int, cmp func(a, b string) int, fetch func(cursor string) ([]string, error)) []string {
	t.Helper()
	var got []string
	cursor := ""
	for page := 0; ; page++ {
		list, err := fetch(cursor)
		require.NoError(t, err)
		require.LessOrEqual(t, len(list), size)
		require.True(t, slices.IsSortedFunc(list, cmp), "page %d: %v", page, list)
		if len(list) > 0 && cursor != "" {
			require.Negative(t, cmp(cursor, list[0]), "page %d starts after its cursor", page)
		}
		got = append(got, list...)
		if len(list) < size {
			return got
		}
		cursor = list[len(list)-1]
		require.Less(t, page, 10, "pages do not end")
	}
}
