package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

func (s suite) campaigns(t *testing.T) {
	t.Run("create_and_get", func(t *testing.T) {
		e := s.open(t, Config{})
		c := newCampaign(e, "app1")
		c.Version = 7
		require.NoError(t, e.CreateCampaign(e.ctx, c))
		require.EqualValues(t, 1, c.Version, "a new campaign has version 1")
		requireCampaign(t, e, c)
	})
	t.Run("not_found", func(t *testing.T) {
		e := s.open(t, Config{})
		_, err := e.Campaign(e.ctx, "nope")
		require.ErrorIs(t, err, store.ErrNotFound)
		c := newCampaign(e, "app1")
		c.Version = 1
		require.ErrorIs(t, e.UpdateCampaign(e.ctx, c), store.ErrNotFound)
		_, err = e.Campaign(e.ctx, c.ID)
		require.ErrorIs(t, err, store.ErrNotFound, "a failed update creates nothing")
		got, err := e.CampaignsByApp(e.ctx, "app1", "", 10)
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("conflict", func(t *testing.T) {
		e := s.open(t, Config{})
		c := newCampaign(e, "app1")
		require.NoError(t, e.CreateCampaign(e.ctx, c))

		sameID := newCampaign(e, "app2")
		sameID.ID, sameID.Name = c.ID, "other"
		require.ErrorIs(t, e.CreateCampaign(e.ctx, sameID), store.ErrConflict)
		requireCampaign(t, e, c)
		got, err := e.CampaignsByApp(e.ctx, "app2", "", 10)
		require.NoError(t, err)
		require.Empty(t, got, "a refused campaign is not listed")
	})
	t.Run("by_app", s.campaignsByApp)
	t.Run("compare_and_set", func(t *testing.T) {
		e := s.open(t, Config{})
		c := newCampaign(e, "app1")
		require.NoError(t, e.CreateCampaign(e.ctx, c))
		stale := *c

		next := *c
		next.State, next.Cursor, next.Sent = store.CampaignRunning, "page-4", 2000
		next.PushIDs = append(next.PushIDs, "p3")
		next.UpdatedAt = c.UpdatedAt.Add(time.Minute)
		require.NoError(t, e.UpdateCampaign(e.ctx, &next))
		require.EqualValues(t, 2, next.Version)
		requireCampaign(t, e, &next)

		stale.Name, stale.State = "stale", store.CampaignCancelled
		require.ErrorIs(t, e.UpdateCampaign(e.ctx, &stale), store.ErrConflict)
		require.EqualValues(t, 1, stale.Version, "a refused update leaves the version")
		requireCampaign(t, e, &next)

		moved := next
		moved.AppID, moved.CreatedAt, moved.State = "app2", c.CreatedAt.Add(time.Hour), store.CampaignPaused
		require.NoError(t, e.UpdateCampaign(e.ctx, &moved))
		require.EqualValues(t, 3, moved.Version)
		require.Equal(t, "app1", moved.AppID, "the app stays")
		require.Equal(t, msUTC(c.CreatedAt), msUTC(moved.CreatedAt), "the creation time stays")
		requireCampaign(t, e, &moved)
		got, err := e.CampaignsByApp(e.ctx, "app2", "", 10)
		require.NoError(t, err)
		require.Empty(t, got)
		got, err = e.CampaignsByApp(e.ctx, "app1", "", 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, normCampaign(&moved), normCampaign(got[0]))
	})
	t.Run("compare_and_set_concurrent", func(t *testing.T) {
		e := s.open(t, Config{})
		c := newCampaign(e, "app1")
		require.NoError(t, e.CreateCampaign(e.ctx, c))
		updates := make([]*store.Campaign, 8)
		for i := range updates {
			u := *c
			u.Name = fmt.Sprintf("writer %d", i)
			updates[i] = &u
		}
		won, err := race(len(updates), func(i int) error { return e.UpdateCampaign(e.ctx, updates[i]) })
		require.NoError(t, err)
		require.Len(t, won, 1, "exactly one update from version 1 succeeds")
		got, err := e.Campaign(e.ctx, c.ID)
		require.NoError(t, err)
		require.EqualValues(t, 2, got.Version)
		require.Equal(t, updates[won[0]].Name, got.Name)
	})
}

// campaignsByApp pages through the campaigns of one app among two.
func (s suite) campaignsByApp(t *testing.T) {
	e := s.open(t, Config{})
	start := e.clock.Now()
	var want []string
	for i := range 25 {
		at := start.Add(time.Duration(i) * time.Millisecond)
		c := newCampaign(e, "app1")
		c.ID = ids.At(at)
		require.NoError(t, e.CreateCampaign(e.ctx, c))
		want = append(want, c.ID)
		if i%5 == 0 {
			other := newCampaign(e, "app2")
			other.ID = ids.At(at)
			require.NoError(t, e.CreateCampaign(e.ctx, other))
		}
	}
	slices.Reverse(want) // newest first

	var got []string
	var sizes []int
	after := ""
	for range 10 {
		page, err := e.CampaignsByApp(e.ctx, "app1", after, 10)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		sizes = append(sizes, len(page))
		for _, c := range page {
			require.Equal(t, "app1", c.AppID)
			got = append(got, c.ID)
		}
		after = page[len(page)-1].ID
	}
	require.Equal(t, []int{10, 10, 5}, sizes)
	require.Equal(t, want, got, "every campaign once, newest first")

	page, err := e.CampaignsByApp(e.ctx, "app1", "", 0)
	require.NoError(t, err)
	require.Empty(t, page, "limit 0")
	page, err = e.CampaignsByApp(e.ctx, "app2", "", 100)
	require.NoError(t, err)
	require.Len(t, page, 5)
}

func newCampaign(e env, appID string) *store.Campaign {
	now := e.clock.Now()
	return &store.Campaign{
		ID:    ids.At(now),
		AppID: appID,
		Name:  "spring sale",
		State: store.CampaignScheduled,
		Notification: store.Notification{
			Title: "Sale", Body: "Half price", Data: map[string]string{"deep_link": "app://sale"},
		},
		Audience:      store.Audience{DeviceIDs: []string{"d1"}, Aliases: []string{"alice", "bob"}, Broadcast: true},
		SendAt:        now.Add(time.Hour),
		LocalTime:     true,
		RatePerSecond: 500,
		Cursor:        "page-3",
		Sent:          1234,
		PushIDs:       []string{"p1", "p2"},
		CreatedAt:     now,
		UpdatedAt:     now.Add(time.Second),
	}
}

func normCampaign(c *store.Campaign) *store.Campaign {
	n := *c
	n.Notification.Data = nilIfEmptyMap(n.Notification.Data)
	n.Audience.DeviceIDs = nilIfEmpty(n.Audience.DeviceIDs)
	n.Audience.Aliases = nilIfEmpty(n.Audience.Aliases)
	n.SendAt, n.CreatedAt, n.UpdatedAt = msUTC(n.SendAt), msUTC(n.CreatedAt), msUTC(n.UpdatedAt)
	return &n
}

func requireCampaign(t *testing.T, e env, want *store.Campaign) {
	t.Helper()
	got, err := e.Campaign(e.ctx, want.ID)
	require.NoError(t, err)
	require.Equal(t, normCampaign(want), normCampaign(got))
}
