package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/storetest"
	"github.com/mopush/mopush/internal/testsrv"
)

func TestConformance(t *testing.T) {
	for _, shards := range []int{1, 2} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			addrs := sharedAddrs(t, shards)
			storetest.Run(t, storetest.Harness{
				Parts: []string{storetest.PartDevices, storetest.PartStreams, storetest.PartOutcomes},
				Open: func(t *testing.T, cfg storetest.Config) store.Store {
					s := openStore(t, Config{Addrs: addrs, MaxStreamLen: cfg.MaxStreamLen, Now: cfg.Now})
					return storetest.AckedCompose{Compose: storetest.Compose{D: s, S: s, O: s}, R: s}
				},
			})
		})
	}
}

// TestOpenUnreachable: a shard that refuses connections fails Open at once
// with ErrUnavailable, and the reachable shard's connection is closed
// again (goleak in TestMain checks).
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = Open(t.Context(), Config{Addrs: []string{sharedAddrs(t, 1)[0], dead}})
	require.ErrorIs(t, err, store.ErrUnavailable)
}

func TestConfigChecks(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{},
		{Addrs: []string{"a", "b"}, Names: []string{"x"}},
		{Addrs: []string{"a", "a"}},
		{Addrs: []string{"a"}, Prefix: "x{"},
	} {
		_, err := Open(t.Context(), cfg)
		require.Error(t, err, "%+v", cfg)
	}
}

func TestCloseTwice(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), Config{Addrs: sharedAddrs(t, 1), Prefix: uniquePrefix()})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = s.Append(t.Context(), []store.Entry{{DeviceID: "d"}})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, err, store.ErrUnavailable)
	_, err = s.Devices(t.Context(), []string{"d"})
	require.ErrorIs(t, err, ErrClosed)
}

func TestUnixSocket(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	s := openStore(t, Config{Addrs: []string{srv.Socket}})
	pos, err := s.Append(t.Context(), []store.Entry{{DeviceID: "d", Message: store.Message{PushID: "p"}}})
	require.NoError(t, err)
	require.Equal(t, uint64(1), pos[0].Seq)
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{})
	ctx := t.Context()
	_, err := s.Advance(ctx, "d", store.Mark(7), 1)
	require.Error(t, err)
	_, err = s.Watermark(ctx, "d", store.Mark(-1))
	require.Error(t, err)
	_, err = s.Append(ctx, []store.Entry{{DeviceID: ""}})
	require.Error(t, err)
	require.Error(t, s.PutDevice(ctx, &store.Device{}))
	require.Error(t, s.SetDevices(ctx, []*store.Device{{ID: "d"}}, 0))
	got, err := s.Devices(ctx, []string{"", "x"})
	require.NoError(t, err)
	require.Equal(t, []*store.Device{nil, nil}, got)
}

// TestKeysShareHashTag: every key a device's operations write carries the
// device id as its hash tag, so a Redis Cluster keeps them in one slot.
func TestKeysShareHashTag(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{})
	ctx := t.Context()
	dev := ids.New()
	require.NoError(t, s.PutDevice(ctx, &store.Device{ID: dev, AppID: "a", Alias: "al"}))
	pos, err := s.Append(ctx, []store.Entry{{DeviceID: dev, Message: store.Message{PushID: "p"}}})
	require.NoError(t, err)
	_, err = s.Advance(ctx, dev, store.MarkAcked, pos[0].Seq)
	require.NoError(t, err)
	_, _, err = s.SetOutcome(ctx, dev, pos[0].Seq, store.OutcomeAcked)
	require.NoError(t, err)

	keys := keysOf(t, s, 0, s.cfg.Prefix)
	var devKeys []string
	for _, k := range keys {
		if hashTag(k) == dev {
			devKeys = append(devKeys, k)
		}
	}
	slices.Sort(devKeys)
	require.Equal(t, []string{
		s.deviceKey(dev, sufAlias), s.deviceKey(dev, sufDevice), s.deviceKey(dev, sufMessages),
		s.deviceKey(dev, sufOutcomes), s.deviceKey(dev, sufStream),
	}, devKeys)
	require.Len(t, keys, len(devKeys)+1, "plus the alias set")
	require.Contains(t, keys, s.aliasKey("a", "al"))
}

// TestShardsHoldTheirKeys: with two shards, each device's keys live on
// the shard the ring names, and both shards get some.
func TestShardsHoldTheirKeys(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{Addrs: sharedAddrs(t, 2)})
	ctx := t.Context()
	entries := make([]store.Entry, 200)
	for i := range entries {
		entries[i] = store.Entry{DeviceID: fmt.Sprintf("dev-%d", i), Message: store.Message{PushID: "p"}}
	}
	_, err := s.Append(ctx, entries)
	require.NoError(t, err)
	for i := range 2 {
		keys := keysOf(t, s, i, s.cfg.Prefix)
		require.NotEmpty(t, keys)
		for _, k := range keys {
			require.Equal(t, s.Shards()[i], s.ShardOf(hashTag(k)), k)
		}
	}
}

// TestOneRoundTripPerShard: a read of 1000 devices over two shards is two
// round trips, and an append to 1000 devices is two more.
func TestOneRoundTripPerShard(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	s := openStore(t, Config{Addrs: sharedAddrs(t, 2), Registerer: reg})
	ctx := t.Context()
	devs := make([]*store.Device, 1000)
	idList := make([]string, len(devs))
	entries := make([]store.Entry, len(devs))
	for i := range devs {
		devs[i] = &store.Device{ID: ids.New(), AppID: "a"}
		idList[i] = devs[i].ID
		entries[i] = store.Entry{DeviceID: devs[i].ID, Message: store.Message{PushID: "p"}}
	}
	require.NoError(t, s.SetDevices(ctx, devs, time.Hour))
	before := obstest.Value(t, reg, "push_store_redis_round_trips_total", nil)
	got, err := s.Devices(ctx, idList)
	require.NoError(t, err)
	for i := range got {
		require.Equal(t, devs[i].ID, got[i].ID)
	}
	require.Equal(t, 2.0, obstest.Value(t, reg, "push_store_redis_round_trips_total", nil)-before)

	before = obstest.Value(t, reg, "push_store_redis_round_trips_total", nil)
	_, err = s.Append(ctx, entries)
	require.NoError(t, err)
	require.Equal(t, 2.0, obstest.Value(t, reg, "push_store_redis_round_trips_total", nil)-before)
}

// TestScriptCacheLost: after SCRIPT FLUSH (as after a restart with
// persistence) batched and single script calls load the scripts again.
func TestScriptCacheLost(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	s := openStore(t, Config{Addrs: []string{srv.Addr}})
	ctx := t.Context()
	msg := store.Message{PushID: "p"}
	_, err := s.Append(ctx, []store.Entry{{DeviceID: "a", Message: msg}, {DeviceID: "b", Message: msg}})
	require.NoError(t, err)
	rdb := s.shards[0].raw
	require.NoError(t, rdb.Do(ctx, rdb.B().ScriptFlush().Build()).Error())
	pos, err := s.Append(ctx, []store.Entry{{DeviceID: "a", Message: msg}, {DeviceID: "b", Message: msg}})
	require.NoError(t, err)
	require.Equal(t, []uint64{2, 2}, []uint64{pos[0].Seq, pos[1].Seq})
	require.NoError(t, rdb.Do(ctx, rdb.B().ScriptFlush().Build()).Error())
	p, err := s.ReadStream(ctx, "a", pos[0].Epoch, 0, 10)
	require.NoError(t, err)
	require.Len(t, p.Messages, 2)
}

// TestEpochs: epochs are nonzero, below 2^53, differ between streams, and
// change when Redis loses a stream; a reader of the old epoch is told.
func TestEpochs(t *testing.T) {
	t.Parallel()
	srv := testsrv.StartRedis(t)
	s := openStore(t, Config{Addrs: []string{srv.Addr}})
	ctx := t.Context()
	entries := make([]store.Entry, 500)
	for i := range entries {
		entries[i] = store.Entry{DeviceID: fmt.Sprintf("d%d", i), Message: store.Message{PushID: "p"}}
	}
	pos, err := s.Append(ctx, entries)
	require.NoError(t, err)
	seen := make(map[uint64]bool)
	for _, p := range pos {
		require.NotZero(t, p.Epoch)
		require.LessOrEqual(t, p.Epoch, uint64(store.MaxEpoch))
		seen[p.Epoch] = true
	}
	require.Greater(t, len(seen), 490, "random epochs")

	old := pos[0]
	rdb := s.shards[0].raw
	require.NoError(t, rdb.Do(ctx, rdb.B().Flushall().Build()).Error())
	again, err := s.Append(ctx, entries[:1])
	require.NoError(t, err)
	require.NotEqual(t, old.Epoch, again[0].Epoch)
	require.Equal(t, uint64(1), again[0].Seq)
	p, err := s.ReadStream(ctx, "d0", old.Epoch, old.Seq, 10)
	require.NoError(t, err)
	require.False(t, p.Recovered)
	require.Equal(t, again[0].Epoch, p.Epoch)
}

// TestLostStreamResetsWatermarksAndOutcomes: a stream that lost its head
// starts over, without the watermarks and outcomes of the old one.
func TestLostStreamResetsWatermarksAndOutcomes(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{})
	ctx := t.Context()
	msg := store.Message{PushID: "p"}
	_, err := s.Append(ctx, []store.Entry{{DeviceID: "d", Message: msg}, {DeviceID: "d", Message: msg}})
	require.NoError(t, err)
	_, err = s.Advance(ctx, "d", store.MarkAcked, 2)
	require.NoError(t, err)
	_, _, err = s.SetOutcome(ctx, "d", 1, store.OutcomeAcked)
	require.NoError(t, err)
	rdb := s.shards[0].raw
	require.NoError(t, rdb.Do(ctx, rdb.B().Del().Key(s.deviceKey("d", sufStream)).Build()).Error())

	_, err = s.Append(ctx, []store.Entry{{DeviceID: "d", Message: msg}})
	require.NoError(t, err)
	mark, err := s.Watermark(ctx, "d", store.MarkAcked)
	require.NoError(t, err)
	require.Zero(t, mark)
	o, err := s.OutcomeOf(ctx, "d", 1)
	require.NoError(t, err)
	require.Equal(t, store.OutcomeNone, o)
	p, err := s.ReadStream(ctx, "d", 0, 0, 10)
	require.NoError(t, err)
	require.Len(t, p.Messages, 1)
}

// TestTrimDropsOutcomes: outcomes of trimmed messages go with them, for a
// few trimmed at a time and for many at once.
func TestTrimDropsOutcomes(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{MaxStreamLen: 3})
	ctx := t.Context()
	appendN := func(n int) {
		entries := make([]store.Entry, n)
		for i := range entries {
			entries[i] = store.Entry{DeviceID: "d", Message: store.Message{PushID: "p"}}
		}
		_, err := s.Append(ctx, entries)
		require.NoError(t, err)
	}
	appendN(3)
	for seq := range uint64(3) {
		_, _, err := s.SetOutcome(ctx, "d", seq+1, store.OutcomeRelayed)
		require.NoError(t, err)
	}
	appendN(1) // trims seq 1
	requireOutcomes(t, s, "d", "2", "3")
	appendN(200) // trims through 201
	requireOutcomes(t, s, "d")
}

func requireOutcomes(t *testing.T, s *Store, dev string, want ...string) {
	t.Helper()
	rdb := s.shards[0].raw
	got, err := rdb.Do(t.Context(), rdb.B().Hkeys().Key(s.deviceKey(dev, sufOutcomes)).Build()).AsStrSlice()
	require.NoError(t, err)
	slices.Sort(got)
	require.Equal(t, append([]string{}, want...), append([]string{}, got...))
}

// TestStaleAliasMember: a set member whose alias entry says otherwise is
// not returned.
func TestStaleAliasMember(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{Addrs: sharedAddrs(t, 2)})
	ctx := t.Context()
	d := &store.Device{ID: ids.New(), AppID: "a", Alias: "bob"}
	require.NoError(t, s.PutDevice(ctx, d))
	sc := s.shards[s.ring.Locate(aliasRingKey("a", "alice"))]
	require.NoError(t, sc.raw.Do(ctx, sc.raw.B().Sadd().Key(s.aliasKey("a", "alice")).Member(d.ID).Build()).Error())
	got, err := s.DeviceIDsByAlias(ctx, "a", []string{"alice"})
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = s.DeviceIDsByAlias(ctx, "a", []string{"alice", "bob"})
	require.NoError(t, err)
	require.Equal(t, []string{d.ID}, got)
}

// TestCacheEntries covers FillDevices (never overwrites), SetDevices
// (overwrites) and ForgetDevices, all with a TTL.
func TestCacheEntries(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{Addrs: sharedAddrs(t, 2)})
	ctx := t.Context()
	a := &store.Device{ID: ids.New(), AppID: "a", Platform: "ios"}
	b := &store.Device{ID: ids.New(), AppID: "a", Platform: "android"}
	require.NoError(t, s.SetDevices(ctx, []*store.Device{a}, time.Hour))
	newer := *a
	newer.Platform = "web"
	require.NoError(t, s.FillDevices(ctx, []*store.Device{&newer, b}, time.Hour))
	got, err := s.Devices(ctx, []string{a.ID, b.ID})
	require.NoError(t, err)
	require.Equal(t, "ios", got[0].Platform, "fill does not overwrite")
	require.Equal(t, "android", got[1].Platform)

	require.NoError(t, s.SetDevices(ctx, []*store.Device{&newer}, time.Hour))
	got, err = s.Devices(ctx, []string{a.ID})
	require.NoError(t, err)
	require.Equal(t, "web", got[0].Platform, "set overwrites")
	sc := s.conn(a.ID)
	ttl, err := sc.raw.Do(ctx, sc.raw.B().Pttl().Key(s.DeviceKey(a.ID)).Build()).AsInt64()
	require.NoError(t, err)
	require.Greater(t, ttl, int64(0))

	require.NoError(t, s.ForgetDevices(ctx, []string{a.ID, b.ID, "absent"}))
	got, err = s.Devices(ctx, []string{a.ID, b.ID})
	require.NoError(t, err)
	require.Equal(t, []*store.Device{nil, nil}, got)
}

// TestShardDown: with one of two shards killed, a multi-key read returns
// the other shard's devices and a ShardError naming the dead shard's
// positions; single-device calls on the dead shard fail with
// ErrUnavailable; after a restart everything works again.
func TestShardDown(t *testing.T) {
	t.Parallel()
	srvs, addrs := startShards(t, 2)
	s := openStore(t, Config{Addrs: addrs, Timeout: 2 * time.Second})
	ctx := t.Context()
	devs := make([]*store.Device, 100)
	idList := make([]string, len(devs))
	for i := range devs {
		devs[i] = &store.Device{ID: ids.New(), AppID: "a"}
		idList[i] = devs[i].ID
		require.NoError(t, s.PutDevice(ctx, devs[i]))
	}
	srvs[1].Kill()
	dead := s.Shards()[1]

	got, err := s.Devices(ctx, idList)
	se, ok := AsShardError(err)
	require.True(t, ok, "%v", err)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.Len(t, se.Failures, 1)
	require.Equal(t, dead, se.Failures[0].Shard)
	failed := se.Failed()
	for i, id := range idList {
		if s.ShardOf(id) == dead {
			require.Contains(t, failed, i)
			require.Nil(t, got[i])
		} else {
			require.NotContains(t, failed, i)
			require.Equal(t, id, got[i].ID)
		}
	}
	var onDead string
	for _, id := range idList {
		if s.ShardOf(id) == dead {
			onDead = id
			break
		}
	}
	_, err = s.ReadStream(ctx, onDead, 0, 0, 10)
	require.ErrorIs(t, err, store.ErrUnavailable)
	_, err = s.Append(ctx, []store.Entry{{DeviceID: onDead}})
	require.ErrorIs(t, err, store.ErrUnavailable)

	require.NoError(t, srvs[1].Restart())
	testsrv.WaitFor(t, 10*time.Second, func() bool {
		_, err := s.Devices(ctx, idList)
		return err == nil
	})
}

// TestTrackedReads: with an Invalidator, a device read through one store
// is reported when another client changes it.
func TestTrackedReads(t *testing.T) {
	t.Parallel()
	inv := &invalidations{}
	reader := openStore(t, Config{Invalidator: inv})
	writer, err := Open(t.Context(), Config{Addrs: reader.cfg.Addrs, Prefix: reader.cfg.Prefix})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, writer.Close()) })
	ctx := t.Context()
	d := &store.Device{ID: ids.New(), AppID: "a", Platform: "ios"}
	require.NoError(t, writer.SetDevices(ctx, []*store.Device{d}, time.Hour))
	got, err := reader.Devices(ctx, []string{d.ID})
	require.NoError(t, err)
	require.Equal(t, "ios", got[0].Platform)

	d.Platform = "web"
	require.NoError(t, writer.SetDevices(ctx, []*store.Device{d}, time.Hour))
	testsrv.WaitFor(t, 10*time.Second, func() bool { return slices.Contains(inv.list(), reader.DeviceKey(d.ID)) })
	got, err = reader.Devices(ctx, []string{d.ID})
	require.NoError(t, err)
	require.Equal(t, "web", got[0].Platform)
}

// TestTrackingOwnWritesAndMisses: with an Invalidator, a read right after
// the client's own write sees it (nothing is kept client-side), the write
// is pushed to the writer too when it had read the key, and a read of a
// missing key is tracked as well.
func TestTrackingOwnWritesAndMisses(t *testing.T) {
	t.Parallel()
	inv := &invalidations{}
	s := openStore(t, Config{Invalidator: inv})
	other, err := Open(t.Context(), Config{Addrs: s.cfg.Addrs, Prefix: s.cfg.Prefix})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, other.Close()) })
	ctx := t.Context()

	d := &store.Device{ID: ids.New(), AppID: "a", Platform: "ios"}
	require.NoError(t, s.SetDevices(ctx, []*store.Device{d}, time.Hour))
	for _, platform := range []string{"web", "android"} {
		_, err := s.Devices(ctx, []string{d.ID})
		require.NoError(t, err)
		d.Platform = platform
		require.NoError(t, s.SetDevices(ctx, []*store.Device{d}, time.Hour))
		got, err := s.Devices(ctx, []string{d.ID})
		require.NoError(t, err)
		require.Equal(t, d, got[0])
	}
	testsrv.WaitFor(t, 10*time.Second, func() bool { return slices.Contains(inv.list(), s.DeviceKey(d.ID)) })

	missing := &store.Device{ID: ids.New(), AppID: "a"}
	got, err := s.Devices(ctx, []string{missing.ID})
	require.NoError(t, err)
	require.Nil(t, got[0])
	require.NoError(t, other.SetDevices(ctx, []*store.Device{missing}, time.Hour))
	testsrv.WaitFor(t, 10*time.Second, func() bool { return slices.Contains(inv.list(), s.DeviceKey(missing.ID)) })
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	s := openStore(t, Config{Addrs: sharedAddrs(t, 2)})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Devices(ctx, []string{"a", "b", "c", "d"})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, errors.Is(err, store.ErrUnavailable))
}

// TestPutDevicesBulk: many devices in one call, one of them twice, cost one
// pipeline per shard for the records and one per shard for the aliases,
// and leave the alias index as single puts would.
func TestPutDevicesBulk(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	s := openStore(t, Config{Addrs: sharedAddrs(t, 2), Registerer: reg})
	ctx := t.Context()
	devs := make([]*store.Device, 300)
	for i := range devs {
		devs[i] = &store.Device{ID: ids.New(), AppID: "a", Alias: fmt.Sprintf("user%d", i%10)}
	}
	twice := *devs[0]
	twice.Alias = "moved"
	// The first call on a shard that does not know the script yet costs a
	// SCRIPT LOAD and a second round: load it on both shards first.
	warm := make([]*store.Device, 20)
	for i := range warm {
		warm[i] = &store.Device{ID: ids.New(), AppID: "warm"}
	}
	require.NoError(t, s.PutDevices(ctx, warm))
	before := obstest.Value(t, reg, "push_store_redis_round_trips_total", nil)
	require.NoError(t, s.PutDevices(ctx, append(devs, &twice)))
	require.Equal(t, 4.0, obstest.Value(t, reg, "push_store_redis_round_trips_total", nil)-before)

	got, err := s.DeviceIDsByAlias(ctx, "a", []string{"user1"})
	require.NoError(t, err)
	require.Len(t, got, 30)
	got, err = s.DeviceIDsByAlias(ctx, "a", []string{"user0"})
	require.NoError(t, err)
	require.Len(t, got, 29, "the device given twice left user0")
	require.NotContains(t, got, devs[0].ID)
	got, err = s.DeviceIDsByAlias(ctx, "a", []string{"moved"})
	require.NoError(t, err)
	require.Equal(t, []string{devs[0].ID}, got)
	read, err := s.Devices(ctx, []string{devs[0].ID, devs[1].ID})
	require.NoError(t, err)
	require.Equal(t, &twice, read[0])
	require.Equal(t, devs[1], read[1])
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With CheckPersistence, a shard that can lose acknowledged writes is
// named in a warning; one with appendonly yes and appendfsync always is not.
func TestCheckPersistenceWarns(t *testing.T) {
	t.Parallel()
	_, addrs := startShards(t, 1) // a server of its own: the test changes its settings
	open := func() string {
		var logs syncBuffer
		openStore(t, Config{Addrs: addrs, CheckPersistence: true,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		return logs.String()
	}
	logs := open()
	require.Contains(t, logs, "level=WARN")
	require.Contains(t, logs, "appendonly=no")
	require.Contains(t, logs, "shard="+addrs[0])

	s := openStore(t, Config{Addrs: addrs})
	rdb := s.shards[0].raw
	t.Cleanup(func() {
		// A server still writing its first append-only file refuses to stop.
		require.NoError(t, rdb.Do(context.Background(), rdb.B().ConfigSet().ParameterValue().ParameterValue("appendonly", "no").Build()).Error())
	})
	for _, kv := range [][2]string{{"appendonly", "yes"}, {"appendfsync", "everysec"}} {
		require.NoError(t, rdb.Do(t.Context(), rdb.B().ConfigSet().ParameterValue().ParameterValue(kv[0], kv[1]).Build()).Error())
	}
	logs = open()
	require.Contains(t, logs, "appendfsync=everysec", "everysec loses up to a second")

	require.NoError(t, rdb.Do(t.Context(), rdb.B().ConfigSet().ParameterValue().ParameterValue("appendfsync", "always").Build()).Error())
	require.NotContains(t, open(), "level=WARN")
}
