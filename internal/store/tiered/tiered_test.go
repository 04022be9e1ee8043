package tiered

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/batch"
	"github.com/mopush/mopush/internal/store/cache"
	"github.com/mopush/mopush/internal/store/reccodec"
	"github.com/mopush/mopush/internal/store/redisstore"
	"github.com/mopush/mopush/internal/store/storetest"
	"github.com/mopush/mopush/internal/testsrv"
)

// TestConformance runs the devices part of the suite through the tiers,
// with two L1 shards and without L1, over Pebble, whose tag index the
// tiers pass lookups by tag to, and over Aerospike, which has none: the
// suite's checks of the tag index skip there.
func TestConformance(t *testing.T) {
	noL1 := func(testing.TB) []string { return []string{} }
	for _, c := range []struct {
		name  string
		addrs func(testing.TB) []string
		l2    func(testing.TB) store.Devices
		tags  bool
	}{
		{"l1=redis", sharedAddrs, func(tb testing.TB) store.Devices { return openPebble(tb) }, true},
		{"l1=none", noL1, func(tb testing.TB) store.Devices { return openPebble(tb) }, true},
		{"l1=none,l2=aerospike", noL1, openAerospike, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, storetest.Harness{
				LockedUpdates: true,
				Tags:          c.tags,
				Parts:         []string{storetest.PartDevices},
				Open: func(t *testing.T, _ storetest.Config) store.Store {
					tr := open(t, Config{L1: redisstore.Config{Addrs: c.addrs(t)}}, c.l2(t))
					return storetest.Compose{D: tr}
				},
			})
		})
	}
}

// TestTagsNeedL2Index: lookups by tag, and listings of an app's devices,
// go to L2 when it has a tag index, and fail with store.ErrUnsupported,
// limit 0 included, when it has none.
func TestTagsNeedL2Index(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tr := open(t, Config{L1: redisstore.Config{Addrs: []string{}}}, openPebble(t))
	d, bare := newDevice(1), newDevice(2)
	d.Tags, bare.Tags = []string{"news"}, nil
	require.NoError(t, tr.PutDevice(ctx, d))
	require.NoError(t, tr.PutDevice(ctx, bare))
	got, err := tr.DeviceIDsByTags(ctx, d.AppID, []string{"news"}, "", 10)
	require.NoError(t, err)
	require.Equal(t, []string{d.ID}, got)
	all := []string{d.ID, bare.ID}
	slices.Sort(all)
	got, err = tr.DeviceIDsByApp(ctx, d.AppID, "", 10)
	require.NoError(t, err)
	require.Equal(t, all, got)
	got, err = tr.DeviceIDsByApp(ctx, d.AppID, all[0], 10)
	require.NoError(t, err)
	require.Equal(t, all[1:], got)

	for _, l2 := range []store.Devices{struct{ plainDevices }{openPebble(t)}, openAerospike(t)} {
		tr := open(t, Config{L1: redisstore.Config{Addrs: []string{}}}, l2)
		for _, limit := range []int{0, 10} {
			_, err := tr.DeviceIDsByTags(ctx, "app", []string{"news"}, "", limit)
			require.ErrorIs(t, err, store.ErrUnsupported, "%T, by tags, limit %d", l2, limit)
			_, err = tr.DeviceIDsByApp(ctx, "app", "", limit)
			require.ErrorIs(t, err, store.ErrUnsupported, "%T, by app, limit %d", l2, limit)
		}
	}
}

func newDevice(i int) *store.Device {
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	return &store.Device{
		ID: ids.New(), AppID: "app", Secret: []byte{byte(i)}, Platform: "android",
		Tags: []string{"t"}, Locale: "en", TimeZone: "UTC",
		Tokens: map[string]string{"fcm": fmt.Sprint("tok", i)}, CreatedAt: now, LastSeen: now,
	}
}

// putL2 writes devices straight into L2, as another system would.
func putL2(t testing.TB, l2 store.Devices, n int) ([]*store.Device, []string) {
	t.Helper()
	devs := make([]*store.Device, n)
	idList := make([]string, n)
	for i := range devs {
		devs[i] = newDevice(i)
		idList[i] = devs[i].ID
		require.NoError(t, l2.PutDevice(t.Context(), devs[i]))
	}
	return devs, idList
}

func lookups(t testing.TB, reg prometheus.Gatherer, tier, result string) float64 {
	return obstest.Value(t, reg, "push_store_tier_lookups_total", map[string]string{"tier": tier, "result": result})
}

// TestReadPath: a cold read goes to L2 and fills L1 and L0; the next read
// is served by L0; with L0 emptied, by L1, with one round trip per shard.
func TestReadPath(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	l2 := openPebble(t)
	tr := open(t, Config{Registerer: reg, NoTracking: true}, l2)
	devs, idList := putL2(t, l2, 200)
	ctx := t.Context()
	query := append([]string{"missing", ""}, idList...)

	check := func() {
		t.Helper()
		got, err := tr.Devices(ctx, query)
		require.NoError(t, err)
		require.Nil(t, got[0])
		require.Nil(t, got[1])
		for i, d := range devs {
			require.Equal(t, d, got[i+2])
		}
	}
	check()
	require.Equal(t, 200.0, lookups(t, reg, "l2", "hit"))
	require.Equal(t, 1.0, lookups(t, reg, "l2", "miss"))

	trips := func() float64 { return obstest.Value(t, reg, "push_store_redis_round_trips_total", nil) }
	before := trips()
	check()
	require.Equal(t, 200.0, lookups(t, reg, "l0", "hit"))
	require.Equal(t, 200.0, lookups(t, reg, "l2", "hit"), "L2 not asked again")
	require.Equal(t, 1.0, trips()-before, "only the missing id went to L1, to its shard")

	tr.l0.InvalidateAll()
	before = trips()
	check()
	require.Equal(t, 200.0, lookups(t, reg, "l1", "hit"))
	require.Equal(t, 200.0, lookups(t, reg, "l2", "hit"))
	require.Equal(t, 2.0, trips()-before, "one pipeline per shard")
}

// TestResultsAreCopies: callers may change what they get, duplicates
// included, without touching the tiers' copies.
func TestResultsAreCopies(t *testing.T) {
	t.Parallel()
	l2 := openPebble(t)
	tr := open(t, Config{}, l2)
	devs, idList := putL2(t, l2, 2)
	ctx := t.Context()
	for range 3 {
		got, err := tr.Devices(ctx, []string{idList[0], idList[0], idList[1]})
		require.NoError(t, err)
		require.Equal(t, devs[0], got[0])
		require.Equal(t, devs[0], got[1])
		require.Equal(t, devs[1], got[2])
		got[0].Tokens["fcm"] = "changed"
		got[1].Tags[0] = "changed"
	}
}

// TestPutDevice: a write lands in L2, replaces the value in L1 and drops it
// from L0, where the next read puts the new value.
func TestPutDevice(t *testing.T) {
	t.Parallel()
	l2 := openPebble(t)
	tr := open(t, Config{}, l2)
	ctx := t.Context()
	d := newDevice(1)
	d.Alias = "alice"
	require.NoError(t, tr.PutDevice(ctx, d))
	got, err := tr.Devices(ctx, []string{d.ID})
	require.NoError(t, err)
	require.Equal(t, d, got[0])

	d.Platform = "ios"
	key := tr.DeviceKey(d.ID)
	before := tr.locks.generation(key)
	require.NoError(t, tr.PutDevice(ctx, d))
	_, ok := tr.l0.Get(key)
	require.False(t, ok, "not from a tracked read")
	// The write bumps the key's generation once, and Redis's report of it
	// (the first read was tracked) once more, maybe after PutDevice
	// returned. A read before that report would see its value dropped by
	// it, so wait for it, at most 10 s.
	deadline := time.Now().Add(10 * time.Second)
	for tr.locks.generation(key) < before+2 {
		require.True(t, time.Now().Before(deadline), "Redis never reported the write")
		time.Sleep(time.Millisecond)
	}
	for _, tier := range []store.Devices{l2, tr.l1, tr} {
		got, err := tier.Devices(ctx, []string{d.ID})
		require.NoError(t, err)
		require.Equal(t, "ios", got[0].Platform)
	}
	b, ok := tr.l0.Get(key)
	require.True(t, ok, "put back by the read")
	inL0, err := reccodec.DecodeDevice(b)
	require.NoError(t, err)
	require.Equal(t, d, inL0)
	aliased, err := tr.DeviceIDsByAlias(ctx, "app", []string{"alice"})
	require.NoError(t, err)
	require.Equal(t, []string{d.ID}, aliased)
	require.Error(t, tr.PutDevice(ctx, &store.Device{}))
}

// failingL2 fails every call.
type failingL2 struct{}

var errL2 = errors.New("l2 down")

func (failingL2) PutDevice(context.Context, *store.Device) error { return errL2 }
func (failingL2) UpdateDevice(context.Context, string, func(*store.Device) bool) (*store.Device, error) {
	return nil, errL2
}
func (failingL2) DeleteDevice(context.Context, string) error { return errL2 }
func (failingL2) Devices(context.Context, []string) ([]*store.Device, error) {
	return nil, errL2
}
func (failingL2) DeviceIDsByAlias(context.Context, string, []string) ([]string, error) {
	return nil, errL2
}

// TestL2Errors: L2 failures fail writes and the reads that need L2, and a
// failed write drops the copies above.
func TestL2Errors(t *testing.T) {
	t.Parallel()
	tr := open(t, Config{}, failingL2{})
	ctx := t.Context()
	d := newDevice(1)
	require.NoError(t, tr.l1.SetDevices(ctx, []*store.Device{d}, time.Hour))
	require.NoError(t, tr.l0.Set(tr.DeviceKey(d.ID), reccodec.EncodeDevice(d), 0))
	require.ErrorIs(t, tr.PutDevice(ctx, d), errL2)
	_, ok := tr.l0.Get(tr.DeviceKey(d.ID))
	require.False(t, ok)
	got, err := tr.l1.Devices(ctx, []string{d.ID})
	require.NoError(t, err)
	require.Nil(t, got[0])
	_, err = tr.Devices(ctx, []string{d.ID})
	require.ErrorIs(t, err, errL2)
	_, err = tr.DeviceIDsByAlias(ctx, "app", []string{"a"})
	require.ErrorIs(t, err, errL2)
	require.Error(t, tr.ReportWait(ctx, d.ID, Fields{Locale: "fr"}))
}

// TestStaleReadKeptOutOfL0: a value read before an invalidation does not
// enter L0.
func TestStaleReadKeptOutOfL0(t *testing.T) {
	t.Parallel()
	tr := open(t, Config{}, openPebble(t))
	d := newDevice(1)
	r := &read{ids: []string{d.ID}, out: []*store.Device{d}, gens: make([]uint64, 1),
		fill: []bool{true}, degraded: []bool{false}}
	key := tr.DeviceKey(d.ID)
	r.gens[0] = tr.locks.generation(key)
	tr.Invalidate(key)
	tr.fillL0(r)
	_, ok := tr.l0.Get(key)
	require.False(t, ok, "invalidated during the read")

	r.gens[0] = tr.locks.generation(key)
	tr.fillL0(r)
	_, ok = tr.l0.Get(key)
	require.True(t, ok)
	tr.InvalidateAll()
	_, ok = tr.l0.Get(key)
	require.False(t, ok)
	require.NotEqual(t, r.gens[0], tr.locks.generation(key))
}

// TestCrossNodeInvalidation: two nodes share L1 and L2. A device that node
// A holds in L0 is dropped there when node B writes it, because Redis
// reports the change to A's tracked read.
func TestCrossNodeInvalidation(t *testing.T) {
	t.Parallel()
	l2 := openPebble(t)
	prefix := uniquePrefix()
	a := open(t, Config{L1: redisstore.Config{Prefix: prefix}}, l2)
	b := open(t, Config{L1: redisstore.Config{Prefix: prefix}}, l2)
	ctx := t.Context()
	d := newDevice(1)
	require.NoError(t, b.PutDevice(ctx, d))
	key := a.DeviceKey(d.ID)
	// A reads through L1 (tracked) until the value sits in its L0.
	testsrv.WaitFor(t, 10*time.Second, func() bool {
		_, err := a.Devices(ctx, []string{d.ID})
		require.NoError(t, err)
		_, ok := a.l0.Get(key)
		return ok
	})
	d.Locale = "fr"
	require.NoError(t, b.PutDevice(ctx, d))
	testsrv.WaitFor(t, 10*time.Second, func() bool { _, ok := a.l0.Get(key); return !ok })
	got, err := a.Devices(ctx, []string{d.ID})
	require.NoError(t, err)
	require.Equal(t, "fr", got[0].Locale)
}

func TestOpenChecks(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), Config{}, nil)
	require.Error(t, err)
	_, err = Open(t.Context(), Config{L0: cache.Config{MaxBytes: -1}}, openPebble(t))
	require.Error(t, err)
	_, err = Open(t.Context(), Config{L1: redisstore.Config{Addrs: []string{"127.0.0.1:1"}}}, openPebble(t))
	require.ErrorIs(t, err, store.ErrUnavailable)
	tr := open(t, Config{}, openPebble(t))
	testsrv.WaitFor(t, 10*time.Second, tr.started.Load)
	require.ErrorIs(t, tr.Run(t.Context()), batch.ErrRunning)
}
