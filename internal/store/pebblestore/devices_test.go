package pebblestore

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// Devices are written in reccodec's encoding; a record in the JSON that
// earlier versions wrote still reads, and its alias entry still moves when
// the device is written again, in the binary encoding.
func TestDevicesWrittenAsJSONStillRead(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	ctx := t.Context()
	old := &store.Device{ID: "d1", AppID: "app", Secret: []byte{1, 2, 3}, Platform: "android", Alias: "ann",
		Tags: []string{"a", "b"}, Tokens: map[string]string{"fcm": "tok"},
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	j, err := json.Marshal(old)
	require.NoError(t, err)
	require.NoError(t, s.db.Set(deviceKey(old.ID), j, pebble.Sync))
	require.NoError(t, s.db.Set(aliasKey(old.AppID, old.Alias, old.ID), nil, pebble.Sync))

	got, err := s.Devices(ctx, []string{"d1", "missing"})
	require.NoError(t, err)
	require.Equal(t, []*store.Device{old, nil}, got)

	moved := *old
	moved.Alias = "bob"
	require.NoError(t, s.PutDevice(ctx, &moved))
	ids, err := s.DeviceIDsByAlias(ctx, "app", []string{"ann"})
	require.NoError(t, err)
	require.Empty(t, ids, "the old alias entry went")
	ids, err = s.DeviceIDsByAlias(ctx, "app", []string{"bob"})
	require.NoError(t, err)
	require.Equal(t, []string{"d1"}, ids)

	raw, ok, err := s.get(deviceKey("d1"))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, byte(reccodec.DeviceVersion), raw[0], "written again in the binary encoding")
	got, err = s.Devices(ctx, []string{"d1"})
	require.NoError(t, err)
	require.Equal(t, []*store.Device{&moved}, got)
}

// A device record that is neither JSON nor reccodec's encoding is an
// error, not a device.
func TestCorruptDeviceIsAnError(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	for _, v := range [][]byte{{'{', 'x'}, {9, 9}, {}} {
		require.NoError(t, s.db.Set(deviceKey("d"), v, pebble.Sync))
		_, err := s.Devices(t.Context(), []string{"d"})
		require.Error(t, err, "%q", v)
	}
}
