package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

func (s suite) devices(t *testing.T) {
	t.Run("put_and_get", func(t *testing.T) {
		e := s.open(t, Config{})
		d := newDevice(e, "app1", "alice")
		require.NoError(t, e.PutDevice(e.ctx, d))
		requireDevices(t, e, []string{d.ID}, d)

		d.Platform, d.Tags, d.Tokens = "ios", []string{"vip"}, map[string]string{"apns": "tok2"}
		d.LastSeen = d.LastSeen.Add(time.Minute)
		require.NoError(t, e.PutDevice(e.ctx, d))
		requireDevices(t, e, []string{d.ID}, d)
	})
	t.Run("by_position", func(t *testing.T) {
		e := s.open(t, Config{})
		a, b := newDevice(e, "app1", ""), newDevice(e, "app1", "")
		require.NoError(t, e.PutDevice(e.ctx, a))
		require.NoError(t, e.PutDevice(e.ctx, b))
		requireDevices(t, e, []string{b.ID, "missing", a.ID, b.ID}, b, nil, a, b)

		got, err := e.Devices(e.ctx, nil)
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("alias_index", func(t *testing.T) {
		e := s.open(t, Config{})
		d1, d2 := newDevice(e, "app1", "alice"), newDevice(e, "app1", "alice")
		d3, other := newDevice(e, "app1", "bob"), newDevice(e, "app2", "alice")
		for _, d := range []*store.Device{d1, d2, d3, other} {
			require.NoError(t, e.PutDevice(e.ctx, d))
		}
		requireAlias(t, e, "app1", []string{"alice"}, d1.ID, d2.ID)
		requireAlias(t, e, "app1", []string{"alice", "bob", "alice"}, d1.ID, d2.ID, d3.ID)
		requireAlias(t, e, "app2", []string{"alice"}, other.ID)
		requireAlias(t, e, "app1", []string{"nobody"})
		requireAlias(t, e, "app3", []string{"alice"})
		requireAlias(t, e, "app1", nil)
	})
	t.Run("alias_moves", func(t *testing.T) {
		e := s.open(t, Config{})
		d := newDevice(e, "app1", "alice")
		require.NoError(t, e.PutDevice(e.ctx, d))
		require.NoError(t, e.PutDevice(e.ctx, d), "putting the same alias again")
		requireAlias(t, e, "app1", []string{"alice"}, d.ID)

		d.Alias = "carol"
		require.NoError(t, e.PutDevice(e.ctx, d))
		requireAlias(t, e, "app1", []string{"alice"})
		requireAlias(t, e, "app1", []string{"carol"}, d.ID)

		d.Alias = ""
		require.NoError(t, e.PutDevice(e.ctx, d))
		requireAlias(t, e, "app1", []string{"alice", "carol"})
		requireDevices(t, e, []string{d.ID}, d)
	})
	t.Run("delete", func(t *testing.T) {
		e := s.open(t, Config{})
		gone, kept, plain := newDevice(e, "app1", "alice"), newDevice(e, "app1", "alice"), newDevice(e, "app1", "")
		for _, d := range []*store.Device{gone, kept, plain} {
			require.NoError(t, e.PutDevice(e.ctx, d))
		}
		require.NoError(t, e.DeleteDevice(e.ctx, gone.ID))
		requireDevices(t, e, []string{gone.ID, kept.ID, plain.ID}, nil, kept, plain)
		requireAlias(t, e, "app1", []string{"alice"}, kept.ID)

		require.NoError(t, e.DeleteDevice(e.ctx, plain.ID))
		require.NoError(t, e.DeleteDevice(e.ctx, gone.ID), "deleting it again")
		require.NoError(t, e.DeleteDevice(e.ctx, ids.New()), "deleting a device never stored")
		requireDevices(t, e, []string{gone.ID, kept.ID, plain.ID}, nil, kept, nil)
		requireAlias(t, e, "app1", []string{"alice"}, kept.ID)

		require.NoError(t, e.DeleteDevice(e.ctx, kept.ID))
		requireAlias(t, e, "app1", []string{"alice"})
		requireDevices(t, e, []string{kept.ID}, nil)
	})
}

func newDevice(e env, appID, alias string) *store.Device {
	now := e.clock.Now()
	return &store.Device{
		ID:        ids.New(),
		AppID:     appID,
		Secret:    ids.Secret(32),
		Platform:  "android",
		Alias:     alias,
		Tags:      []string{"news", "sports"},
		Locale:    "de-CH",
		TimeZone:  "Europe/Zurich",
		Tokens:    map[string]string{"fcm": "tok1"},
		CreatedAt: now,
		LastSeen:  now,
	}
}

func normDevice(d *store.Device) *store.Device {
	if d == nil {
		return nil
	}
	c := *d
	c.Secret = nilIfEmpty(c.Secret)
	c.Tags = nilIfEmpty(c.Tags)
	c.Tokens = nilIfEmptyMap(c.Tokens)
	c.CreatedAt, c.LastSeen = msUTC(c.CreatedAt), msUTC(c.LastSeen)
	return &c
}

// requireDevices checks that Devices(ids) returns want, by position.
func requireDevices(t *testing.T, e env, ids []string, want ...*store.Device) {
	t.Helper()
	got, err := e.Devices(e.ctx, ids)
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, normDevice(want[i]), normDevice(got[i]), "position %d", i)
	}
}

// requireAlias checks that DeviceIDsByAlias returns want, each once.
func requireAlias(t *testing.T, e env, appID string, aliases []string, want ...string) {
	t.Helper()
	got, err := e.DeviceIDsByAlias(e.ctx, appID, aliases)
	require.NoError(t, err)
	require.Equal(t, sortedCopy(nilIfEmpty(want)), nilIfEmpty(sortedCopy(got)), "aliases %q", aliases)
}
