package pebblestore

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// TestTagIndexBuiltOnUpgrade: a database written before the tag index
// existed (device records, some in JSON, without index entries or the
// marker; the index of an app's devices, which shares its keys, came
// later still) gets the entries of every device at Open, in several
// batches, and a record that does not decode does not keep it from
// opening.
func TestTagIndexBuiltOnUpgrade(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s := open(t, Config{Dir: dir})
	require.NoError(t, s.PutDevice(ctx, &store.Device{ID: "d1", AppID: "app1", Alias: "ann", Tags: []string{"a", "b"}}))
	require.NoError(t, s.PutDevice(ctx, &store.Device{ID: "d2", AppID: "app2", Tags: []string{"a"}}))
	j, err := json.Marshal(&store.Device{ID: "d3", AppID: "app1", Tags: []string{"a", "c"}})
	require.NoError(t, err)
	require.NoError(t, s.db.Set(deviceKey("d3"), j, pebble.Sync))
	require.NoError(t, s.db.Set(deviceKey("d4"), []byte{9, 9}, pebble.Sync), "a corrupt record")
	const many = 2000 // 3 tags each: more entries than one build batch
	b := s.db.NewBatch()
	for i := range many {
		d := &store.Device{ID: fmt.Sprintf("m%04d", i), AppID: "bulk", Tags: []string{"x", "y", fmt.Sprint("z", i%2)}}
		require.NoError(t, b.Set(deviceKey(d.ID), reccodec.EncodeDevice(d), nil))
	}
	require.NoError(t, b.Commit(pebble.Sync))
	// Back to how an earlier version left the database.
	require.NoError(t, s.db.DeleteRange([]byte{tagDeviceTag}, []byte{tagDeviceTag + 1}, pebble.Sync))
	require.NoError(t, s.db.Delete(metaKey(metaTagIndex), pebble.Sync))
	require.NoError(t, s.db.Delete(metaKey(metaAppIndex), pebble.Sync))
	requireTagged(t, s, "app1", []string{"a"})
	require.NoError(t, s.Close())

	s = open(t, Config{Dir: dir})
	built, err := s.exists(metaKey(metaTagIndex))
	require.NoError(t, err)
	require.True(t, built, "the marker")
	requireTagged(t, s, "app1", []string{"a"}, "d1", "d3")
	requireTagged(t, s, "app1", []string{"b", "c"}, "d1", "d3")
	requireTagged(t, s, "app2", []string{"a"}, "d2")
	got, err := s.DeviceIDsByTags(ctx, "bulk", []string{"x", "z1"}, "", many+1)
	require.NoError(t, err)
	require.Len(t, got, many)
	require.True(t, slices.IsSorted(got))
	got, err = s.DeviceIDsByTags(ctx, "bulk", []string{"z1"}, "", many)
	require.NoError(t, err)
	require.Len(t, got, many/2)
	require.Equal(t, 3*many+5+many+3, countPrefix(t, s, tagDeviceTag), "tag entries, and one per device of its app")

	// The entries built move with later writes like any others.
	require.NoError(t, s.PutDevice(ctx, &store.Device{ID: "d3", AppID: "app1", Tags: []string{"c"}}))
	require.NoError(t, s.DeleteDevice(ctx, "d1"))
	requireTagged(t, s, "app1", []string{"a", "b"})
	requireTagged(t, s, "app1", []string{"c"}, "d3")

	// The next Open finds the marker and scans nothing: an entry removed
	// by hand stays removed.
	require.NoError(t, s.db.Delete(tagKey("app1", "c", "d3"), pebble.Sync))
	require.NoError(t, s.Close())
	s = open(t, Config{Dir: dir})
	requireTagged(t, s, "app1", []string{"c"})
}

// TestTagIndexMarkerOnNewDatabase: a new database is marked at its first
// Open, so nothing ever scans it.
func TestTagIndexMarkerOnNewDatabase(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	built, err := s.exists(metaKey(metaTagIndex))
	require.NoError(t, err)
	require.True(t, built)
}

// TestAppIndexBuiltOnUpgrade: a database written before the index of an
// app's devices existed (device records, some in JSON, some tagged, with
// their tag entries but without app entries or the marker) gets the entry
// of every device at Open, in several batches, and a record that does not
// decode does not keep it from opening. The tag entries are left as they
// were.
func TestAppIndexBuiltOnUpgrade(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s := open(t, Config{Dir: dir})
	require.NoError(t, s.PutDevice(ctx, &store.Device{ID: "d1", AppID: "app1", Tags: []string{"a"}}))
	require.NoError(t, s.PutDevice(ctx, &store.Device{ID: "d2", AppID: "app1"}))
	require.NoError(t, s.PutDevice(ctx, &store.Device{ID: "d3", AppID: "app2", Tags: []string{"a"}}))
	j, err := json.Marshal(&store.Device{ID: "d4", AppID: "app1"})
	require.NoError(t, err)
	require.NoError(t, s.db.Set(deviceKey("d4"), j, pebble.Sync))
	require.NoError(t, s.db.Set(deviceKey("d5"), []byte{9, 9}, pebble.Sync), "a corrupt record")
	const many = indexBuildBatch + 1000 // more entries than one build batch
	b := s.db.NewBatch()
	for i := range many {
		d := &store.Device{ID: fmt.Sprintf("m%05d", i), AppID: "bulk"}
		require.NoError(t, b.Set(deviceKey(d.ID), reccodec.EncodeDevice(d), nil))
	}
	require.NoError(t, b.Commit(pebble.Sync))
	// Back to how an earlier version left the database.
	for _, app := range []string{"app1", "app2"} {
		p := appDevicePrefix(app)
		require.NoError(t, s.db.DeleteRange(p, prefixEnd(p), pebble.Sync))
	}
	require.NoError(t, s.db.Delete(metaKey(metaAppIndex), pebble.Sync))
	require.Equal(t, 2, countPrefix(t, s, tagDeviceTag), "the tag entries alone")
	requireByApp(t, s, "app1")
	require.NoError(t, s.Close())

	s = open(t, Config{Dir: dir})
	built, err := s.exists(metaKey(metaAppIndex))
	require.NoError(t, err)
	require.True(t, built, "the marker")
	requireByApp(t, s, "app1", "d1", "d2", "d4")
	requireByApp(t, s, "app2", "d3")
	requireTagged(t, s, "app1", []string{"a"}, "d1")
	requireTagged(t, s, "app2", []string{"a"}, "d3")
	var got []string
	for {
		page, err := s.DeviceIDsByApp(ctx, "bulk", lastOr(got, ""), 1000)
		require.NoError(t, err)
		got = append(got, page...)
		if len(page) < 1000 {
			break
		}
	}
	require.Equal(t, many, len(got), "the bulk app's devices")
	require.True(t, slices.IsSorted(got))
	require.Equal(t, 2+4+many, countPrefix(t, s, tagDeviceTag), "the tag entries and one per readable device")

	// The entries built move with later writes like any others.
	require.NoError(t, s.DeleteDevice(ctx, "d1"))
	require.NoError(t, s.PutDevice(ctx, &store.Device{ID: "d2", AppID: "app2"}))
	requireByApp(t, s, "app1", "d4")
	requireByApp(t, s, "app2", "d2", "d3")

	// The next Open finds the marker and scans nothing: an entry removed
	// by hand stays removed.
	require.NoError(t, s.db.Delete(appDeviceKey("app1", "d4"), pebble.Sync))
	require.NoError(t, s.Close())
	s = open(t, Config{Dir: dir})
	requireByApp(t, s, "app1")
}

// TestAppIndexMarkerOnNewDatabase: a new database is marked at its first
// Open, so nothing ever scans it.
func TestAppIndexMarkerOnNewDatabase(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	built, err := s.exists(metaKey(metaAppIndex))
	require.NoError(t, err)
	require.True(t, built)
}

// requireByApp checks DeviceIDsByApp in one page.
func requireByApp(t *testing.T, s *Store, appID string, want ...string) {
	t.Helper()
	got, err := s.DeviceIDsByApp(t.Context(), appID, "", 100)
	require.NoError(t, err)
	if len(want) == 0 {
		require.Empty(t, got, appID)
		return
	}
	require.Equal(t, want, got, appID)
}

// lastOr returns the last of ids, or def when there are none.
func lastOr(ids []string, def string) string {
	if len(ids) == 0 {
		return def
	}
	return ids[len(ids)-1]
}

// requireTagged checks DeviceIDsByTags in one page.
func requireTagged(t *testing.T, s *Store, appID string, tags []string, want ...string) {
	t.Helper()
	got, err := s.DeviceIDsByTags(t.Context(), appID, tags, "", 100)
	require.NoError(t, err)
	if len(want) == 0 {
		require.Empty(t, got, "%s %q", appID, tags)
		return
	}
	require.Equal(t, want, got, "%s %q", appID, tags)
}
