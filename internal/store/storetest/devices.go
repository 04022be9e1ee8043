package storetest

import (
	"fmt"
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
	t.Run("update", func(t *testing.T) {
		e := s.open(t, Config{})
		d := newDevice(e, "app1", "alice")
		require.NoError(t, e.PutDevice(e.ctx, d))
		got, err := e.UpdateDevice(e.ctx, d.ID, func(x *store.Device) bool {
			x.Alias = "bob"
			x.Tokens["hms"] = "tok2"
			return true
		})
		require.NoError(t, err)
		want := *d
		want.Alias, want.Tokens = "bob", map[string]string{"fcm": "tok1", "hms": "tok2"}
		require.Equal(t, normDevice(&want), normDevice(got))
		requireDevices(t, e, []string{d.ID}, &want)
		requireAlias(t, e, "app1", []string{"alice"})
		requireAlias(t, e, "app1", []string{"bob"}, d.ID)
		require.Equal(t, map[string]string{"fcm": "tok1"}, d.Tokens, "the change got a copy")

		got, err = e.UpdateDevice(e.ctx, d.ID, func(x *store.Device) bool {
			x.Locale = "ignored"
			return false
		})
		require.NoError(t, err)
		require.Equal(t, normDevice(&want), normDevice(got))
		requireDevices(t, e, []string{d.ID}, &want)

		missing := ids.New()
		_, err = e.UpdateDevice(e.ctx, missing, func(*store.Device) bool {
			t.Error("change called for a device that does not exist")
			return true
		})
		require.ErrorIs(t, err, store.ErrNotFound)
		requireDevices(t, e, []string{missing}, nil)

		require.NoError(t, e.DeleteDevice(e.ctx, d.ID))
		_, err = e.UpdateDevice(e.ctx, d.ID, func(x *store.Device) bool { return true })
		require.ErrorIs(t, err, store.ErrNotFound, "a deleted device is not written back")
		requireDevices(t, e, []string{d.ID}, nil)
		requireAlias(t, e, "app1", []string{"bob"})
	})
	t.Run("write_inside_update", func(t *testing.T) {
		// Another write between UpdateDevice's read and its write makes it
		// read again and change that version: both changes stay.
		if s.h.LockedUpdates {
			t.Skip("UpdateDevice locks out every other writer")
		}
		e := s.open(t, Config{})
		d := newDevice(e, "app1", "alice")
		require.NoError(t, e.PutDevice(e.ctx, d))
		calls := 0
		got, err := e.UpdateDevice(e.ctx, d.ID, func(x *store.Device) bool {
			calls++
			if calls == 1 {
				other := x.Clone()
				other.Alias, other.Locale = "carol", "fr-FR"
				require.NoError(t, e.PutDevice(e.ctx, other))
			}
			x.Tokens["hms"] = "tok2"
			return true
		})
		require.NoError(t, err)
		require.Equal(t, 2, calls, "the change ran again on the version written meanwhile")
		want := *d
		want.Alias, want.Locale, want.Tokens = "carol", "fr-FR", map[string]string{"fcm": "tok1", "hms": "tok2"}
		require.Equal(t, normDevice(&want), normDevice(got))
		requireDevices(t, e, []string{d.ID}, &want)
		requireAlias(t, e, "app1", []string{"carol"}, d.ID)

		calls = 0
		_, err = e.UpdateDevice(e.ctx, d.ID, func(x *store.Device) bool {
			calls++
			if calls == 1 {
				require.NoError(t, e.DeleteDevice(e.ctx, d.ID))
			}
			x.Locale = "de-DE"
			return true
		})
		require.ErrorIs(t, err, store.ErrNotFound, "a device deleted meanwhile is not written back")
		require.Equal(t, 1, calls)
		requireDevices(t, e, []string{d.ID}, nil)
		requireAlias(t, e, "app1", []string{"carol"})
	})
	t.Run("updates_at_once", func(t *testing.T) {
		// Writers that change different fields of one device at once all
		// keep their change: none writes back a version it read before
		// another's write.
		if s.h.RacyConditionalWrites {
			t.Skip("the server's filtered replace is a read and a write of its own")
		}
		e := s.open(t, Config{})
		d := newDevice(e, "app1", "")
		require.NoError(t, e.PutDevice(e.ctx, d))
		const writers = 6
		errs := make(chan error, writers)
		for i := range writers {
			go func() {
				_, err := e.UpdateDevice(e.ctx, d.ID, func(x *store.Device) bool {
					x.Tokens[fmt.Sprintf("vendor%d", i)] = fmt.Sprintf("tok%d", i)
					return true
				})
				errs <- err
			}()
		}
		for range writers {
			require.NoError(t, <-errs)
		}
		devs, err := e.Devices(e.ctx, []string{d.ID})
		require.NoError(t, err)
		require.Len(t, devs[0].Tokens, writers+1, "tokens %v", devs[0].Tokens)
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
