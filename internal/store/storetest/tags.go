package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// tags checks store.TagIndex, for a store that has one: unless
// Harness.Tags is set, it skips when the opened store is no TagIndex or
// answers the limit-0 probe with store.ErrUnsupported. by_app checks the
// listing of all an app's devices, DeviceIDsByApp.
func (s suite) tags(t *testing.T) {
	t.Run("by_tag", func(t *testing.T) {
		e, ti := s.openTags(t)
		both, sports := tagged(e, "app1", "news", "sports"), tagged(e, "app1", "sports")
		weather, bare := tagged(e, "app1", "weather"), tagged(e, "app1")
		other := tagged(e, "app2", "news", "sports")
		put(t, e, both, sports, weather, bare, other)

		requireTags(t, e, ti, "app1", []string{"news"}, both.ID)
		requireTags(t, e, ti, "app1", []string{"sports"}, both.ID, sports.ID)
		requireTags(t, e, ti, "app1", []string{"news", "sports"}, both.ID, sports.ID)
		requireTags(t, e, ti, "app1", []string{"sports", "news", "sports"}, both.ID, sports.ID)
		requireTags(t, e, ti, "app1", []string{"weather", "news"}, both.ID, weather.ID)
		requireTags(t, e, ti, "app1", []string{"news", "sports", "weather"}, both.ID, sports.ID, weather.ID)
		requireTags(t, e, ti, "app2", []string{"sports", "weather"}, other.ID)
		requireTags(t, e, ti, "app1", []string{"nobody"})
		requireTags(t, e, ti, "app3", []string{"news"})
		requireTags(t, e, ti, "app1", nil)

		got, err := ti.DeviceIDsByTags(e.ctx, "app1", []string{"news", "sports"}, "", 0)
		require.NoError(t, err)
		require.Empty(t, got, "limit 0")
		all := sortedCopy([]string{both.ID, sports.ID, weather.ID})
		got, err = ti.DeviceIDsByTags(e.ctx, "app1", []string{"weather", "sports"}, all[0], 10)
		require.NoError(t, err)
		require.Equal(t, all[1:], got, "after is exclusive")
		got, err = ti.DeviceIDsByTags(e.ctx, "app1", []string{"weather", "sports"}, all[2], 10)
		require.NoError(t, err)
		require.Empty(t, got, "after the last one")
	})
	t.Run("pages", func(t *testing.T) {
		// Devices match one or two of the tags asked for; every page is
		// sorted and full but the last, and the pages hold each device
		// once.
		e, ti := s.openTags(t)
		var want []string
		for i := range 25 {
			var d *store.Device
			switch i % 3 {
			case 0:
				d = tagged(e, "app1", "t0", "all")
			case 1:
				d = tagged(e, "app1", "t1")
			default:
				d = tagged(e, "app1", "all", "t2")
			}
			put(t, e, d)
			want = append(want, d.ID)
		}
		for range 3 {
			put(t, e, tagged(e, "app1", "t2"), tagged(e, "app2", "t0", "all"))
		}
		slices.Sort(want)
		asked := []string{"all", "t1", "t0"}

		got := readPages(t, 7, strings.Compare, func(after string) ([]string, error) {
			return ti.DeviceIDsByTags(e.ctx, "app1", asked, after, 7)
		})
		require.Equal(t, want, got, "every device once, in order")

		for _, limit := range []int{1, 25, 100} {
			ids, err := ti.DeviceIDsByTags(e.ctx, "app1", asked, "", limit)
			require.NoError(t, err)
			require.Equal(t, want[:min(limit, len(want))], ids, "limit %d", limit)
		}
		ids, err := ti.DeviceIDsByTags(e.ctx, "app1", asked, want[9], 3)
		require.NoError(t, err)
		require.Equal(t, want[10:13], ids)
	})
	t.Run("moves", func(t *testing.T) {
		e, ti := s.openTags(t)
		d, stays := tagged(e, "app1", "news", "sports"), tagged(e, "app1", "news")
		put(t, e, d, stays)
		requireTags(t, e, ti, "app1", []string{"sports"}, d.ID)

		d.Tags = []string{"sports", "weather"}
		put(t, e, d)
		requireTags(t, e, ti, "app1", []string{"news"}, stays.ID)
		requireTags(t, e, ti, "app1", []string{"sports"}, d.ID)
		requireTags(t, e, ti, "app1", []string{"weather"}, d.ID)

		_, err := e.UpdateDevice(e.ctx, d.ID, func(x *store.Device) bool {
			x.Tags = []string{"news"}
			return true
		})
		require.NoError(t, err)
		requireTags(t, e, ti, "app1", []string{"news"}, d.ID, stays.ID)
		requireTags(t, e, ti, "app1", []string{"sports", "weather"})

		_, err = e.UpdateDevice(e.ctx, d.ID, func(x *store.Device) bool {
			x.Tags = []string{"dup", "dup"}
			return true
		})
		require.NoError(t, err)
		requireTags(t, e, ti, "app1", []string{"dup"}, d.ID)
		requireTags(t, e, ti, "app1", []string{"news"}, stays.ID)

		_, err = e.UpdateDevice(e.ctx, d.ID, func(x *store.Device) bool {
			x.Tags = nil
			return true
		})
		require.NoError(t, err)
		requireTags(t, e, ti, "app1", []string{"dup", "news", "sports", "weather"}, stays.ID)

		d.Tags = []string{"news", "sports"}
		put(t, e, d)
		requireTags(t, e, ti, "app1", []string{"news", "sports"}, d.ID, stays.ID)
		d.AppID = "app2"
		put(t, e, d)
		requireTags(t, e, ti, "app1", []string{"news", "sports"}, stays.ID)
		requireTags(t, e, ti, "app2", []string{"sports"}, d.ID)
		requireTags(t, e, ti, "app2", []string{"news"}, d.ID)

		require.NoError(t, e.DeleteDevice(e.ctx, d.ID))
		requireTags(t, e, ti, "app2", []string{"news", "sports"})
		requireTags(t, e, ti, "app1", []string{"news", "sports"}, stays.ID)
		require.NoError(t, e.DeleteDevice(e.ctx, stays.ID))
		requireTags(t, e, ti, "app1", []string{"news", "sports"})
	})
	t.Run("by_app", func(t *testing.T) {
		// Every device of the app, tagged or not, in pages of 2, each
		// once and in id order; another app's devices never (app12 is
		// app1 and more). The empty tag is no device's.
		e, ti := s.openIndex(t, "by app", func(ti store.TagIndex, e env) ([]string, error) {
			return ti.DeviceIDsByApp(e.ctx, "app1", "", 0)
		})
		var want, others []string
		for i := range 7 {
			var tags []string
			if i%2 == 0 {
				tags = []string{"news", fmt.Sprint("t", i)}
			}
			d, other := tagged(e, "app1", tags...), tagged(e, []string{"app2", "app12"}[i%2], tags...)
			put(t, e, d, other)
			want, others = append(want, d.ID), append(others, other.ID)
		}
		slices.Sort(want)
		pages := func() []string {
			return readPages(t, 2, strings.Compare, func(after string) ([]string, error) {
				return ti.DeviceIDsByApp(e.ctx, "app1", after, 2)
			})
		}
		require.Equal(t, want, pages(), "every device once, in order, none of another app")

		got, err := ti.DeviceIDsByApp(e.ctx, "app1", "", 0)
		require.NoError(t, err)
		require.Empty(t, got, "limit 0")
		got, err = ti.DeviceIDsByApp(e.ctx, "app1", want[2], 2)
		require.NoError(t, err)
		require.Equal(t, want[3:5], got, "after is exclusive")
		got, err = ti.DeviceIDsByApp(e.ctx, "app1", want[6], 2)
		require.NoError(t, err)
		require.Empty(t, got, "after the last one")
		got, err = ti.DeviceIDsByApp(e.ctx, "app3", "", 10)
		require.NoError(t, err)
		require.Empty(t, got, "an app without devices")
		got, err = ti.DeviceIDsByApp(e.ctx, "app2", "", 10)
		require.NoError(t, err)
		require.Equal(t, sortedCopy([]string{others[0], others[2], others[4], others[6]}), got, "app2")
		got, err = ti.DeviceIDsByApp(e.ctx, "app12", "", 10)
		require.NoError(t, err)
		require.Equal(t, sortedCopy([]string{others[1], others[3], others[5]}), got, "app12")
		requireTags(t, e, ti, "app1", []string{""})

		// Tags come and go without moving a device out of its app's
		// list; a deleted device, or one moved to another app, leaves
		// it.
		_, err = e.UpdateDevice(e.ctx, want[1], func(x *store.Device) bool {
			x.Tags = []string{"weather"}
			return true
		})
		require.NoError(t, err)
		_, err = e.UpdateDevice(e.ctx, want[2], func(x *store.Device) bool {
			x.Tags = nil
			return true
		})
		require.NoError(t, err)
		require.Equal(t, want, pages(), "after tags changed")
		require.NoError(t, e.DeleteDevice(e.ctx, want[3]))
		moved, err := e.UpdateDevice(e.ctx, want[5], func(x *store.Device) bool {
			x.AppID = "app2"
			return true
		})
		require.NoError(t, err)
		require.Equal(t, "app2", moved.AppID)
		left := slices.Concat(want[:3], want[4:5], want[6:])
		require.Equal(t, left, pages(), "after a delete and a move")
		got, err = ti.DeviceIDsByApp(e.ctx, "app2", "", 10)
		require.NoError(t, err)
		require.Contains(t, got, want[5], "the moved device")
	})
}

// openTags opens a store for a subtest of tags, and skips the subtest
// when the store lists no devices by tag (fails it when Harness.Tags says
// it must).
func (s suite) openTags(t *testing.T) (env, store.TagIndex) {
	t.Helper()
	return s.openIndex(t, "by tag", func(ti store.TagIndex, e env) ([]string, error) {
		return ti.DeviceIDsByTags(e.ctx, "app1", []string{"news"}, "", 0)
	})
}

// openIndex opens a store for a subtest of tags, and skips the subtest
// when the store is no store.TagIndex or answers probe, a listing with
// limit 0, with store.ErrUnsupported (fails it when Harness.Tags says it
// must list devices); what names the listing.
func (s suite) openIndex(t *testing.T, what string, probe func(store.TagIndex, env) ([]string, error)) (env, store.TagIndex) {
	t.Helper()
	e := s.open(t, Config{})
	skip := t.Skipf
	if s.h.Tags {
		skip = t.Fatalf
	}
	ti, ok := e.Store.(store.TagIndex)
	if !ok {
		skip("%T is no store.TagIndex", e.Store)
	}
	got, err := probe(ti, e)
	if errors.Is(err, store.ErrUnsupported) {
		skip("%T lists no devices %s: %v", e.Store, what, err)
	}
	require.NoError(t, err, "the probe with limit 0")
	require.Empty(t, got, "the probe with limit 0")
	return e, ti
}

// tagged returns a new device of the app with the tags.
func tagged(e env, appID string, tags ...string) *store.Device {
	d := newDevice(e, appID, "")
	d.Tags = tags
	return d
}

// put stores the devices with PutDevice.
func put(t *testing.T, e env, devs ...*store.Device) {
	t.Helper()
	for _, d := range devs {
		require.NoError(t, e.PutDevice(e.ctx, d))
	}
}

// requireTags checks that DeviceIDsByTags, in one page, returns want,
// sorted.
func requireTags(t *testing.T, e env, ti store.TagIndex, appID string, tags []string, want ...string) {
	t.Helper()
	got, err := ti.DeviceIDsByTags(e.ctx, appID, tags, "", 100)
	require.NoError(t, err)
	require.Equal(t, nilIfEmpty(sortedCopy(want)), nilIfEmpty(got), fmt.Sprintf("%s: tags %q", appID, tags))
}
