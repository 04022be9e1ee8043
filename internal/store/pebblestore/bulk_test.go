package pebblestore

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/tiered"
)

var _ tiered.BulkWriter = (*Store)(nil)

// TestPutDevicesOneCommit: a bulk write costs one WAL fsync, and a batch
// with an empty id writes nothing. The behaviour shared with the other
// BulkWriters (alias index, duplicates, empty batch) is checked by
// tiered's TestBulkWriter.
func TestPutDevicesOneCommit(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	ctx := t.Context()
	devs := make([]*store.Device, 100)
	for i := range devs {
		devs[i] = &store.Device{ID: fmt.Sprintf("d%d", i), AppID: "a", Alias: fmt.Sprintf("u%d", i%10)}
	}
	// Open syncs the log once, for the markers of its index builds; the
	// count of that fsync may come after Open returns: wait for it first.
	for deadline := time.Now().Add(5 * time.Second); fsyncs(t, s) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	before := fsyncs(t, s)
	require.Equal(t, uint64(1), before, "one fsync at Open")
	require.NoError(t, s.PutDevices(ctx, devs))
	// The log writer records an fsync's latency after it wakes the
	// committer, so the count may lag the return: wait for it, bounded.
	deadline := time.Now().Add(5 * time.Second)
	for fsyncs(t, s) == before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, uint64(1), fsyncs(t, s)-before)

	err := s.PutDevices(ctx, []*store.Device{{ID: "new", AppID: "a", Alias: "u1"}, {AppID: "a"}})
	require.ErrorContains(t, err, "device 1 has no id")
	got, err := s.Devices(ctx, []string{"new"})
	require.NoError(t, err)
	require.Nil(t, got[0])
	require.Equal(t, 100, countPrefix(t, s, tagAlias), "no alias entry of the failed batch")
}

// TestPutDevicesConcurrent: bulk writes over overlapping devices in
// opposite orders, and single puts among them, neither deadlock nor leave
// a device with two alias entries.
func TestPutDevicesConcurrent(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	ctx := t.Context()
	const n = 50
	batch := func(alias string, reverse bool) []*store.Device {
		devs := make([]*store.Device, n)
		for i := range devs {
			j := i
			if reverse {
				j = n - 1 - i
			}
			devs[i] = &store.Device{ID: fmt.Sprintf("d%d", j), AppID: "a", Alias: alias}
		}
		return devs
	}
	var wg sync.WaitGroup
	errs := make([]error, 3*10)
	for r := range 10 {
		wg.Go(func() { errs[3*r] = s.PutDevices(ctx, batch("x", false)) })
		wg.Go(func() { errs[3*r+1] = s.PutDevices(ctx, batch("y", true)) })
		wg.Go(func() { errs[3*r+2] = s.PutDevice(ctx, &store.Device{ID: "d7", AppID: "a", Alias: "z"}) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, n, countPrefix(t, s, tagAlias), "one alias entry per device")
}
