package pebblestore

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// TestPushIndexBuiltOnUpgrade: a database written before the index of
// apps' pushes existed (push records, some in JSON, without index entries
// or the marker) gets the entry of every push at Open, in several batches,
// and a record that does not decode does not keep it from opening.
func TestPushIndexBuiltOnUpgrade(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	start := time.UnixMilli(time.Now().UnixMilli()).UTC()
	// at returns a new id of the ith millisecond from start.
	at := func(i int) string { return ids.At(start.Add(time.Duration(i) * time.Millisecond)) }
	s := open(t, Config{Dir: dir})
	p1 := &store.Push{ID: at(1), AppID: "app1", Targets: []string{"d1"}, CreatedAt: start}
	p2 := &store.Push{ID: at(2), AppID: "app2", Audience: store.Audience{Broadcast: true}, CreatedAt: start}
	p3 := &store.Push{ID: at(3), AppID: "app1", State: store.PushScheduled, SendAt: start.Add(time.Hour)}
	for _, p := range []*store.Push{p1, p2, p3} {
		_, err := s.CreatePush(ctx, p, "")
		require.NoError(t, err)
	}
	old := at(4) // written by a version that stored JSON
	j, err := json.Marshal(&store.Push{ID: old, AppID: "app1", State: store.PushPending, CreatedAt: start})
	require.NoError(t, err)
	require.NoError(t, s.db.Set(pushKey(old), j, pebble.Sync))
	corrupt := at(5)
	require.NoError(t, s.db.Set(pushKey(corrupt), []byte{9, 9}, pebble.Sync), "a corrupt record")
	const many = 5000 // more entries than one build batch
	var bulk []string
	b := s.db.NewBatch()
	for i := range many {
		p := &store.Push{ID: at(10 + i), AppID: "bulk", Targets: []string{"d1", "d2"}, State: store.PushPending}
		require.NoError(t, b.Set(pushKey(p.ID), reccodec.EncodePush(p), nil))
		bulk = append(bulk, p.ID)
	}
	require.NoError(t, b.Commit(pebble.Sync))
	// Back to how an earlier version left the database.
	require.NoError(t, s.db.DeleteRange([]byte{tagAppPush}, []byte{tagAppPush + 1}, pebble.Sync))
	require.NoError(t, s.db.Delete(metaKey(metaPushIndex), pebble.Sync))
	requireListedPushes(t, s, "app1")
	require.NoError(t, s.Close())

	s = open(t, Config{Dir: dir})
	built, err := s.exists(metaKey(metaPushIndex))
	require.NoError(t, err)
	require.True(t, built, "the marker")
	requireListedPushes(t, s, "app1", old, p3.ID, p1.ID)
	requireListedPushes(t, s, "app2", p2.ID)
	got, err := s.PushIDsByApp(ctx, "bulk", "", many+1)
	require.NoError(t, err)
	slices.Reverse(bulk)
	require.Equal(t, bulk, got)
	got, err = s.PushIDsByApp(ctx, "bulk", bulk[99], 10)
	require.NoError(t, err)
	require.Equal(t, bulk[100:110], got)
	require.Equal(t, many+4, countPrefix(t, s, tagAppPush), "no entry for the corrupt record")

	// New pushes are listed with the entries built.
	p6 := &store.Push{ID: at(6), AppID: "app1", CreatedAt: start}
	_, err = s.CreatePush(ctx, p6, "")
	require.NoError(t, err)
	requireListedPushes(t, s, "app1", p6.ID, old, p3.ID, p1.ID)

	// The next Open finds the marker and scans nothing: an entry removed
	// by hand stays removed.
	require.NoError(t, s.db.Delete(appPushKey("app1", p3.ID), pebble.Sync))
	require.NoError(t, s.Close())
	s = open(t, Config{Dir: dir})
	requireListedPushes(t, s, "app1", p6.ID, old, p1.ID)
}

// TestPushIndexMarkerOnNewDatabase: a new database is marked at its first
// Open, so nothing ever scans it.
func TestPushIndexMarkerOnNewDatabase(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	built, err := s.exists(metaKey(metaPushIndex))
	require.NoError(t, err)
	require.True(t, built)
}

// TestPushIndexKeys: an app id is length-prefixed, so an app whose id
// extends another's lists none of the other's pushes, and before compares
// whole ids.
func TestPushIndexKeys(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	ctx := t.Context()
	for _, p := range []*store.Push{{ID: "b", AppID: "a"}, {ID: "c", AppID: "ab"}, {ID: "bb", AppID: "a"}, {ID: "a", AppID: "a"}} {
		_, err := s.CreatePush(ctx, p, "")
		require.NoError(t, err)
	}
	requireListedPushes(t, s, "a", "bb", "b", "a")
	requireListedPushes(t, s, "ab", "c")
	got, err := s.PushIDsByApp(ctx, "a", "bb", 10)
	require.NoError(t, err)
	require.Equal(t, []string{"b", "a"}, got)
	got, err = s.PushIDsByApp(ctx, "a", "b"+strings.Repeat("\x00", 2), 10)
	require.NoError(t, err)
	require.Equal(t, []string{"b", "a"}, got)
	got, err = s.PushIDsByApp(ctx, "a", "b", 10)
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, got)
}

// requireListedPushes checks PushIDsByApp in one page.
func requireListedPushes(t *testing.T, s *Store, appID string, want ...string) {
	t.Helper()
	got, err := s.PushIDsByApp(t.Context(), appID, "", 100)
	require.NoError(t, err)
	if len(want) == 0 {
		require.Empty(t, got, appID)
		return
	}
	require.Equal(t, want, got, appID)
}
