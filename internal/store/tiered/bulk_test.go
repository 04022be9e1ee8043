package tiered

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/redisstore"
	"github.com/mopush/mopush/internal/testsrv"
)

// bulkL2 is a system of record that writes in bulk.
type bulkL2 interface {
	store.Devices
	BulkWriter
}

// TestBulkWriter is the conformance suite of BulkWriter, run against each
// L2 that implements it. start sets up the servers of one implementation
// and returns a function that opens a new, empty store on them.
func TestBulkWriter(t *testing.T) {
	t.Parallel()
	impls := []struct {
		name  string
		start func(t *testing.T) func(t *testing.T) bulkL2
	}{
		{"pebble", func(*testing.T) func(*testing.T) bulkL2 {
			return func(t *testing.T) bulkL2 { return openPebble(t) }
		}},
		{"redis", func(t *testing.T) func(*testing.T) bulkL2 {
			addrs := sharedAddrs(t)
			return func(t *testing.T) bulkL2 {
				s, err := redisstore.Open(t.Context(), redisstore.Config{Addrs: addrs, Prefix: uniquePrefix()})
				require.NoError(t, err)
				t.Cleanup(func() { require.NoError(t, s.Close()) })
				return s
			}
		}},
		{"mongo", func(t *testing.T) func(*testing.T) bulkL2 {
			uri := testsrv.StartMongo(t).URI
			return func(t *testing.T) bulkL2 { return mongoL2(t, uri, "t_"+strings.ToLower(ids.New())) }
		}},
	}
	for _, impl := range impls {
		t.Run("l2="+impl.name, func(t *testing.T) {
			t.Parallel()
			open := impl.start(t)
			for _, c := range []struct {
				name string
				test func(t *testing.T, open func(t *testing.T) bulkL2)
			}{
				{"like-sequential-puts", testBulkLikeSequential},
				{"empty-batch", testBulkEmpty},
				{"duplicate-ids", testBulkDuplicates},
				{"empty-id", testBulkEmptyID},
			} {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.test(t, open)
				})
			}
		})
	}
}

// bulkAliases are the aliases that bulkScenario uses.
var bulkAliases = []string{"user0", "user1", "user2", "user3", "user4", "user5", "late", "fresh"}

// bulkScenario returns 60 stored devices, 50 of them with an alias, and a
// batch of 100 over them: 20 move to another alias, 5 lose theirs, 5 move
// to another app under the same alias, 10 change without moving, 5 gain an
// alias, and 55 are new, 45 of them with an alias.
func bulkScenario() (stored, batch []*store.Device) {
	stored = make([]*store.Device, 60)
	for i := range stored {
		stored[i] = newDevice(i)
		if i < 50 {
			stored[i].Alias = fmt.Sprintf("user%d", i%6)
		}
	}
	change := func(i int, f func(d *store.Device)) {
		d := *stored[i]
		f(&d)
		batch = append(batch, &d)
	}
	for i := range 20 {
		change(i, func(d *store.Device) { d.Alias = fmt.Sprintf("user%d", (i+1)%6) })
	}
	for i := 20; i < 25; i++ {
		change(i, func(d *store.Device) { d.Alias = "" })
	}
	for i := 25; i < 30; i++ {
		change(i, func(d *store.Device) { d.AppID = "other" })
	}
	for i := 30; i < 40; i++ {
		change(i, func(d *store.Device) { d.Locale = "fr" })
	}
	for i := 50; i < 55; i++ {
		change(i, func(d *store.Device) { d.Alias = "late" })
	}
	for i := range 55 {
		d := newDevice(100 + i)
		switch {
		case i < 30:
			d.Alias = fmt.Sprintf("user%d", i%6)
		case i < 45:
			d.Alias = "fresh"
		}
		batch = append(batch, d)
	}
	return stored, batch
}

// testBulkLikeSequential: a bulk write leaves the devices and the alias
// index as PutDevice for each device in order does.
func testBulkLikeSequential(t *testing.T, open func(t *testing.T) bulkL2) {
	ctx := t.Context()
	stored, batch := bulkScenario()
	require.Len(t, batch, 100)
	bulk, seq := open(t), open(t)
	for _, s := range []bulkL2{bulk, seq} {
		for _, d := range stored {
			require.NoError(t, s.PutDevice(ctx, d))
		}
	}
	require.NoError(t, bulk.PutDevices(ctx, batch))
	for _, d := range batch {
		require.NoError(t, seq.PutDevice(ctx, d))
	}

	idList := make([]string, 0, 115)
	for _, d := range stored {
		idList = append(idList, d.ID)
	}
	for _, d := range batch[45:] {
		idList = append(idList, d.ID)
	}
	want, err := seq.Devices(ctx, idList)
	require.NoError(t, err)
	got, err := bulk.Devices(ctx, idList)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, batch[0], got[0])
	for _, app := range []string{"app", "other"} {
		for _, alias := range bulkAliases {
			require.Equal(t, aliased(t, seq, app, alias), aliased(t, bulk, app, alias), "%s/%s", app, alias)
		}
		require.Equal(t, aliased(t, seq, app, bulkAliases...), aliased(t, bulk, app, bulkAliases...), app)
	}
	require.NotContains(t, aliased(t, bulk, "app", "user0"), stored[0].ID, "moved to user1")
	require.Contains(t, aliased(t, bulk, "app", "user1"), stored[0].ID)
	require.NotContains(t, aliased(t, bulk, "app", bulkAliases...), stored[20].ID, "alias removed")
	require.Equal(t, []string{stored[25].ID}, aliased(t, bulk, "other", "user1"), "moved to another app")
	require.Len(t, aliased(t, bulk, "app", "late"), 5)
	require.Len(t, aliased(t, bulk, "app", "fresh"), 15)
}

// testBulkEmpty: a batch without devices succeeds and changes nothing.
func testBulkEmpty(t *testing.T, open func(t *testing.T) bulkL2) {
	ctx := t.Context()
	s := open(t)
	d := newDevice(0)
	d.Alias = "x"
	require.NoError(t, s.PutDevice(ctx, d))
	require.NoError(t, s.PutDevices(ctx, nil))
	require.NoError(t, s.PutDevices(ctx, []*store.Device{}))
	got, err := s.Devices(ctx, []string{d.ID})
	require.NoError(t, err)
	require.Equal(t, d, got[0])
	require.Equal(t, []string{d.ID}, aliased(t, s, "app", "x"))
}

// testBulkDuplicates: a device given more than once in a batch ends as its
// last value, and only that value's alias holds it.
func testBulkDuplicates(t *testing.T, open func(t *testing.T) bulkL2) {
	ctx := t.Context()
	s := open(t)
	d := newDevice(0)
	d.Alias = "w"
	require.NoError(t, s.PutDevice(ctx, d))
	first, last := *d, *d
	first.Alias, first.Locale = "x", "fr"
	last.Alias, last.Locale = "y", "de"
	other := newDevice(1)
	other.Alias = "x"
	fresh := newDevice(2)
	fresh.Alias = "p"
	freshLast := *fresh
	freshLast.Alias = "q"
	require.NoError(t, s.PutDevices(ctx, []*store.Device{&first, fresh, other, &last, &freshLast}))

	got, err := s.Devices(ctx, []string{d.ID, fresh.ID, other.ID})
	require.NoError(t, err)
	require.Equal(t, []*store.Device{&last, &freshLast, other}, got)
	require.Empty(t, aliased(t, s, "app", "w"))
	require.Equal(t, []string{other.ID}, aliased(t, s, "app", "x"))
	require.Equal(t, []string{d.ID}, aliased(t, s, "app", "y"))
	require.Empty(t, aliased(t, s, "app", "p"))
	require.Equal(t, []string{fresh.ID}, aliased(t, s, "app", "q"))
}

// testBulkEmptyID: a device without an id fails the batch before anything
// is written.
func testBulkEmptyID(t *testing.T, open func(t *testing.T) bulkL2) {
	ctx := t.Context()
	s := open(t)
	d := newDevice(0)
	d.Alias = "e"
	require.Error(t, s.PutDevices(ctx, []*store.Device{d, {AppID: "app", Alias: "e"}}))
	got, err := s.Devices(ctx, []string{d.ID})
	require.NoError(t, err)
	require.Nil(t, got[0])
	require.Empty(t, aliased(t, s, "app", "e"))
}

// aliased returns the ids of app's devices with one of the aliases,
// sorted.
func aliased(t *testing.T, s store.Devices, app string, aliases ...string) []string {
	t.Helper()
	got, err := s.DeviceIDsByAlias(t.Context(), app, aliases)
	require.NoError(t, err)
	slices.Sort(got)
	return got
}
