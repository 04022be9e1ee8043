package pebblestore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
	"github.com/mopush/mopush/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		LockedUpdates: true,
		Tags:          true,
		ListsPushes:   true,
		Open: func(t *testing.T, cfg storetest.Config) store.Store {
			return open(t, Config{
				Dir:               t.TempDir(),
				MaxStreamLen:      cfg.MaxStreamLen,
				IdempotencyWindow: cfg.IdempotencyWindow,
				Now:               cfg.Now,
			})
		},
	})
}

func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestOpenNeedsDir(t *testing.T) {
	_, err := Open(Config{})
	require.Error(t, err)
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	s := open(t, Config{Dir: dir})

	app := &store.App{ID: "app1", Name: "App", Key: "pk", SecretHash: []byte{1, 2}, CreatedAt: now}
	require.NoError(t, s.CreateApp(ctx, app))
	dev := &store.Device{ID: "d1", AppID: "app1", Secret: []byte{3}, Alias: "alice", CreatedAt: now, LastSeen: now}
	require.NoError(t, s.PutDevice(ctx, dev))
	msg := store.Message{PushID: "p", Title: "t", SentAt: now}
	pos, err := s.Append(ctx, []store.Entry{{DeviceID: "d1", Message: msg}, {DeviceID: "d1", Message: msg}})
	require.NoError(t, err)
	_, err = s.Advance(ctx, "d1", store.MarkAcked, 1)
	require.NoError(t, err)
	push := &store.Push{ID: ids.At(now), AppID: "app1", Targets: []string{"d1"}, CreatedAt: now}
	_, err = s.CreatePush(ctx, push, "idem")
	require.NoError(t, err)
	require.NoError(t, s.AddCounts(ctx, push.ID, store.Counts{Targeted: 1, Acked: 1}))
	done := &store.Push{ID: ids.At(now.Add(time.Millisecond)), AppID: "app1", CreatedAt: now}
	_, err = s.CreatePush(ctx, done, "")
	require.NoError(t, err)
	require.NoError(t, s.FinishPush(ctx, done.ID, store.Counts{}))
	require.NoError(t, s.Close())

	s = open(t, Config{Dir: dir})
	gotApp, err := s.AppByKey(ctx, "pk")
	require.NoError(t, err)
	require.Equal(t, app, gotApp)
	devs, err := s.Devices(ctx, []string{"d1"})
	require.NoError(t, err)
	require.Equal(t, dev, devs[0])
	aliased, err := s.DeviceIDsByAlias(ctx, "app1", []string{"alice"})
	require.NoError(t, err)
	require.Equal(t, []string{"d1"}, aliased)

	page, err := s.ReadStream(ctx, "d1", pos[0].Epoch, 0, 10)
	require.NoError(t, err)
	require.True(t, page.Recovered)
	require.Equal(t, uint64(2), page.Head)
	require.Len(t, page.Messages, 2)
	mark, err := s.Watermark(ctx, "d1", store.MarkAcked)
	require.NoError(t, err)
	require.Equal(t, uint64(1), mark)
	next, err := s.Append(ctx, []store.Entry{{DeviceID: "d1", Message: msg}})
	require.NoError(t, err)
	require.Equal(t, store.Position{Epoch: pos[0].Epoch, Seq: 3}, next[0], "the stream goes on")

	gotPush, err := s.Push(ctx, push.ID)
	require.NoError(t, err)
	require.Equal(t, store.Counts{Targeted: 1, Acked: 1}, gotPush.Counts)
	replay, err := s.CreatePush(ctx, &store.Push{ID: ids.New(), AppID: "app1"}, "idem")
	require.NoError(t, err)
	require.Equal(t, push.ID, replay, "idempotency keys survive")
	pending, err := s.PendingPushes(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, []string{push.ID}, pending)
}

func TestCloseTwice(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = s.Append(t.Context(), []store.Entry{{DeviceID: "d", Message: store.Message{}}})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, err, store.ErrUnavailable)
}

func TestBadMark(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	_, err := s.Advance(t.Context(), "d", store.Mark(7), 1)
	require.Error(t, err)
	_, err = s.Watermark(t.Context(), "d", store.Mark(-1))
	require.Error(t, err)
}

// TestSweepIdempotency checks that lapsed idempotency keys are deleted,
// not only ignored.
func TestSweepIdempotency(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	s := open(t, Config{Dir: t.TempDir(), IdempotencyWindow: time.Hour, Now: clock})
	ctx := t.Context()
	for i := range 40 {
		_, err := s.CreatePush(ctx, &store.Push{ID: ids.New(), AppID: "a"}, fmt.Sprint("k", i))
		require.NoError(t, err)
	}
	require.Equal(t, 40, countPrefix(t, s, tagIdem))
	require.Equal(t, 40, countPrefix(t, s, tagIdemExp))

	now.Add(int64(2 * time.Hour))
	for i := range 3 {
		_, err := s.CreatePush(ctx, &store.Push{ID: ids.New(), AppID: "a"}, fmt.Sprint("new", i))
		require.NoError(t, err)
	}
	require.Equal(t, 3, countPrefix(t, s, tagIdem), "40 lapsed keys swept by 3 creates of 16")
	require.Equal(t, 3, countPrefix(t, s, tagIdemExp))
}

func countPrefix(t *testing.T, s *Store, tag byte) int {
	t.Helper()
	it, err := s.prefixIter([]byte{tag})
	require.NoError(t, err)
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		n++
	}
	require.NoError(t, closeIter(it, it.Error()))
	return n
}

// A push stored before existence markers were written still takes counts;
// a new one gets a marker.
func TestCountsFindPushWithoutMarker(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	ctx := context.Background()
	p := &store.Push{ID: "new", AppID: "app", Targets: []string{"d1"}, CreatedAt: time.Now()}
	_, err := s.CreatePush(ctx, p, "")
	require.NoError(t, err)
	_, ok, err := s.get(pushMarkKey("new"))
	require.NoError(t, err)
	require.True(t, ok, "CreatePush writes the marker")

	require.NoError(t, s.db.Set(pushKey("old"), []byte(`{"id":"old","app_id":"app","state":"pending"}`), nil))
	require.NoError(t, s.AddCounts(ctx, "old", store.Counts{Acked: 2}))
	old, err := s.Push(ctx, "old")
	require.NoError(t, err)
	require.Equal(t, int64(2), old.Counts.Acked)
	require.ErrorIs(t, s.AddCounts(ctx, "missing", store.Counts{Acked: 1}), store.ErrNotFound)
}

// A push's record is reccodec's encoding, without its counts, which live
// in merge operands. Records that earlier versions wrote as JSON, with
// zero counts or without counts, read the same.
func TestPushRecordWithoutCounts(t *testing.T) {
	ctx := t.Context()
	s := open(t, Config{Dir: t.TempDir()})
	fresh, withZeros, withoutCounts := newPush(1), newPush(2), newPush(3)
	for _, p := range []*store.Push{fresh, withZeros, withoutCounts} {
		p.Counts = store.Counts{Targeted: 9}
		_, err := s.CreatePush(ctx, p, "")
		require.NoError(t, err)
	}
	raw, ok, err := s.get(pushKey(fresh.ID))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, byte(reccodec.PushVersion), raw[0])
	rec, err := reccodec.DecodePush(raw)
	require.NoError(t, err)
	require.Zero(t, rec.Counts)
	require.Equal(t, store.PushPending, rec.State)

	// The earlier layouts: the whole store.Push as JSON with zero counts,
	// then without them.
	old := *withZeros
	old.State, old.Counts = store.PushPending, store.Counts{}
	val, err := json.Marshal(&old)
	require.NoError(t, err)
	require.Contains(t, string(val), `"counts"`)
	require.NoError(t, s.db.Set(pushKey(withZeros.ID), val, nil))
	old = *withoutCounts
	old.State = store.PushPending
	val, err = json.Marshal(&old)
	require.NoError(t, err)
	val = bytes.Replace(val, []byte(`,"counts":{"targeted":9,"delivered":0,"acked":0,"offline":0,"failed":0,"relayed":0,"relay_failed":0,"expired":0,"no_channel":0,"dead_tokens":0,"opened":0,"clicked":0,"acked_within_1s":0,"acked_within_10s":0,"acked_within_60s":0}`), nil, 1)
	require.NotContains(t, string(val), `"counts"`)
	require.NoError(t, s.db.Set(pushKey(withoutCounts.ID), val, nil))

	for _, p := range []*store.Push{fresh, withZeros, withoutCounts} {
		require.NoError(t, s.AddCounts(ctx, p.ID, store.Counts{Targeted: 1, Delivered: 1}))
		got, err := s.Push(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, store.Counts{Targeted: 1, Delivered: 1}, got.Counts, "counts come from the merges only")
		require.Equal(t, p.Targets, got.Targets)
		require.Equal(t, p.Notification, got.Notification)
		require.True(t, p.CreatedAt.Equal(got.CreatedAt))
		require.Equal(t, store.PushPending, got.State)
	}
}

// Stream messages are reccodec's encoding; one that an earlier version
// wrote as JSON is still read, by a catch-up read and by Advance.
func TestStreamMessagesBinaryAndJSON(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	sent := time.Date(2026, 12, 7, 3, 0, 0, 123456789, time.UTC)
	msg := func(i int) store.Message {
		return store.Message{PushID: fmt.Sprint("p", i), Title: "t", Data: map[string]string{"k": fmt.Sprint(i)}, SentAt: sent}
	}
	pos, err := s.Append(ctx, []store.Entry{{DeviceID: "d", Message: msg(1)}, {DeviceID: "d", Message: msg(2)}})
	require.NoError(t, err)
	raw, ok, err := s.get(msgKey("d", 1))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, byte(reccodec.MessageVersion), raw[0])

	// An earlier version's record of message 2.
	old := msg(2)
	old.Seq = 2
	val, err := json.Marshal(&old)
	require.NoError(t, err)
	require.NoError(t, s.db.Set(msgKey("d", 2), val, pebble.Sync))
	require.NoError(t, s.Close())

	s = open(t, Config{Dir: dir}) // no tail in memory: the records are read
	page, err := s.ReadStream(ctx, "d", pos[0].Epoch, 0, 10)
	require.NoError(t, err)
	require.Len(t, page.Messages, 2)
	for i, m := range page.Messages {
		want := msg(i + 1)
		want.Seq = uint64(i + 1)
		require.Equal(t, want, m)
	}
	acked, err := s.Advance(ctx, "d", store.MarkAcked, 2)
	require.NoError(t, err)
	require.Len(t, acked, 2)
	require.Equal(t, "p2", acked[1].PushID)
}
