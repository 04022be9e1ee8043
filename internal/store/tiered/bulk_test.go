package tiered

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
	BulkUpdater
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
				{"replace-if-unchanged", testReplaceIfUnchanged},
				{"tags", testBulkTags},
				{"flush-keeps-other-writers", func(t *testing.T, o func(t *testing.T) bulkL2) { testFlushKeepsOtherWriters(t, o, true) }},
				{"flush-one-by-one-keeps-other-writers", func(t *testing.T, o func(t *testing.T) bulkL2) { testFlushKeepsOtherWriters(t, o, false) }},
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

// testReplaceIfUnchanged: ReplaceDevices writes the devices still as read,
// with their alias index entries, and reports the others (written or
// deleted since) without touching them.
func testReplaceIfUnchanged(t *testing.T, open func(t *testing.T) bulkL2) {
	ctx := t.Context()
	s := open(t)
	devs := make([]*store.Device, 6)
	ids := make([]string, len(devs))
	for i := range devs {
		devs[i] = newDevice(i)
		if i < 3 {
			devs[i].Alias = "a"
		}
		ids[i] = devs[i].ID
		require.NoError(t, s.PutDevice(ctx, devs[i]))
	}
	olds, err := s.Devices(ctx, ids)
	require.NoError(t, err)

	other := olds[1].Clone()
	other.Locale = "by another writer"
	require.NoError(t, s.PutDevice(ctx, other))
	require.NoError(t, s.DeleteDevice(ctx, ids[2]))
	moved, err := s.UpdateDevice(ctx, ids[3], func(d *store.Device) bool { d.Alias = "moved"; return true })
	require.NoError(t, err)

	news := make([]*store.Device, len(olds))
	for i, d := range olds {
		news[i] = d.Clone()
		news[i].Locale = "new"
	}
	news[0].Alias = "b"
	stale, err := s.ReplaceDevices(ctx, olds, news)
	require.NoError(t, err)
	require.Equal(t, []int{1, 2, 3}, stale)

	got, err := s.Devices(ctx, ids)
	require.NoError(t, err)
	require.Equal(t, []*store.Device{news[0], other, nil, moved, news[4], news[5]}, got)
	require.Equal(t, []string{ids[1]}, aliased(t, s, "app", "a"), "the device replaced left its alias, the deleted one is gone")
	require.Equal(t, []string{ids[0]}, aliased(t, s, "app", "b"))
	require.Equal(t, []string{ids[3]}, aliased(t, s, "app", "moved"))

	stale, err = s.ReplaceDevices(ctx, nil, nil)
	require.NoError(t, err)
	require.Empty(t, stale)
}

// testBulkTags: for an L2 with a tag index, PutDevices and ReplaceDevices
// move devices between tag lists as PutDevice does: tags gained, lost, a
// device moved to another app, the last of a device given twice, and no
// move for a device ReplaceDevices leaves as written meanwhile.
func testBulkTags(t *testing.T, open func(t *testing.T) bulkL2) {
	ctx := t.Context()
	s := open(t)
	ti, ok := s.(store.TagIndex)
	if !ok {
		t.Skipf("%T has no tag index", s)
	}
	tags := [][]string{{"a", "b"}, {"a"}, {"b"}, {"a"}, {"a", "b"}, {"c"}, {"c"}, {"a"}}
	devs := make([]*store.Device, len(tags))
	ids := make([]string, len(devs))
	for i := range devs {
		devs[i] = newDevice(i)
		devs[i].Tags = tags[i]
		ids[i] = devs[i].ID
		require.NoError(t, s.PutDevice(ctx, devs[i]))
	}
	change := func(i int, f func(d *store.Device)) *store.Device {
		d := devs[i].Clone()
		f(d)
		return d
	}
	n1, n2 := newDevice(100), newDevice(101)
	n1.Tags = []string{"a"}
	n2first := n2.Clone()
	n2first.Tags = []string{"x"}
	n2.Tags = []string{"c", "a"}
	require.NoError(t, s.PutDevices(ctx, []*store.Device{
		change(0, func(d *store.Device) { d.Tags = []string{"b", "c"} }),
		change(1, func(d *store.Device) { d.Tags = nil }),
		n2first,
		change(2, func(d *store.Device) { d.AppID = "other" }),
		change(3, func(d *store.Device) { d.Locale = "fr" }),
		n1, n2,
	}))
	byTags := func(app string, tags ...string) []string {
		t.Helper()
		got, err := ti.DeviceIDsByTags(ctx, app, tags, "", 100)
		require.NoError(t, err)
		return got
	}
	sorted := func(ids ...string) []string {
		slices.Sort(ids)
		return ids
	}
	require.Equal(t, sorted(ids[3], ids[4], ids[7], n1.ID, n2.ID), byTags("app", "a"))
	require.Equal(t, sorted(ids[0], ids[4]), byTags("app", "b"))
	require.Equal(t, sorted(ids[0], ids[5], ids[6], n2.ID), byTags("app", "c"))
	require.Empty(t, byTags("app", "x"), "only the last of a device given twice")
	require.Equal(t, []string{ids[2]}, byTags("other", "b", "a"))

	olds, err := s.Devices(ctx, ids[4:])
	require.NoError(t, err)
	other := change(5, func(d *store.Device) { d.Tags = []string{"d"} })
	require.NoError(t, s.PutDevice(ctx, other))
	news := make([]*store.Device, len(olds))
	for i, d := range olds {
		news[i] = d.Clone()
	}
	news[0].Tags = nil
	news[1].Tags = []string{"a"}
	news[2].Tags = []string{"a", "b"}
	news[3].AppID = "other"
	stale, err := s.ReplaceDevices(ctx, olds, news)
	require.NoError(t, err)
	require.Equal(t, []int{1}, stale)
	require.Equal(t, sorted(ids[3], ids[6], n1.ID, n2.ID), byTags("app", "a"))
	require.Equal(t, sorted(ids[0], ids[6]), byTags("app", "b"))
	require.Equal(t, sorted(ids[0], n2.ID), byTags("app", "c"))
	require.Equal(t, []string{ids[5]}, byTags("app", "d"), "written meanwhile, not replaced")
	require.Equal(t, sorted(ids[2], ids[7]), byTags("other", "a", "b"))
}

// staleL2 is an L2 whose first read of each device in snapshot returns
// that version, taken before other writers changed it: a report flush
// then reads it and writes while they write.
type staleL2 struct {
	bulkL2
	mu       sync.Mutex
	snapshot map[string]*store.Device
}

func (s *staleL2) Devices(ctx context.Context, ids []string) ([]*store.Device, error) {
	out, err := s.bulkL2.Devices(ctx, ids)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, id := range ids {
		if d, ok := s.snapshot[id]; ok {
			out[i] = d.Clone()
			delete(s.snapshot, id)
		}
	}
	return out, nil
}

// plainDevices is store.Devices under a name a struct can embed without its
// field hiding the Devices method.
type plainDevices interface{ store.Devices }

// testFlushKeepsOtherWriters: a report flush whose read of L2 came before
// other writers' changes keeps them: each report lands on the device as
// written meanwhile, and a device deleted meanwhile stays deleted. Without
// bulk, L2 is seen as one without BulkUpdater, whose devices the flush
// changes one by one.
func testFlushKeepsOtherWriters(t *testing.T, openL2 func(t *testing.T) bulkL2, bulk bool) {
	ctx := t.Context()
	l2 := openL2(t)
	devs, ids := putL2(t, l2, 4)
	snapshot, err := l2.Devices(ctx, ids)
	require.NoError(t, err)
	_, err = l2.UpdateDevice(ctx, ids[1], func(d *store.Device) bool { d.Alias, d.Tokens["apns"] = "alice", "a1"; return true })
	require.NoError(t, err)
	require.NoError(t, l2.DeleteDevice(ctx, ids[2]))
	stale := &staleL2{bulkL2: l2, snapshot: map[string]*store.Device{}}
	for _, d := range snapshot {
		stale.snapshot[d.ID] = d
	}
	var sor store.Devices = stale
	if !bulk {
		sor = struct{ plainDevices }{stale}
	}
	tr := open(t, Config{}, sor)

	seen := devs[0].LastSeen.Add(time.Hour)
	for _, id := range ids {
		require.NoError(t, tr.ReportWait(ctx, id, Fields{LastSeen: seen, Locale: "de-DE"}))
	}
	got, err := l2.Devices(ctx, ids)
	require.NoError(t, err)
	for _, i := range []int{0, 1, 3} {
		require.Equal(t, seen, got[i].LastSeen, "device %d", i)
		require.Equal(t, "de-DE", got[i].Locale, "device %d", i)
	}
	require.Equal(t, "alice", got[1].Alias, "the alias written meanwhile stays")
	require.Equal(t, map[string]string{"fcm": "tok1", "apns": "a1"}, got[1].Tokens)
	require.Nil(t, got[2], "the deleted device was not written back")
	require.Equal(t, []string{ids[1]}, aliased(t, l2, "app", "alice"))
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
