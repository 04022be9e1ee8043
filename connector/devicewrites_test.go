package connector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
	"github.com/mopush/mopush/internal/store/storetest"
	"github.com/mopush/mopush/internal/store/tiered"
	"github.com/mopush/mopush/sdkproto"
)

// requireEnded reads a session up to its Error frame, which must carry
// code, and then its close, with the same code.
func requireEnded(t *testing.T, s *rawSession, code sdkproto.Code) {
	t.Helper()
	for range 10 {
		fr := s.read(t)
		if e := fr.GetError(); e != nil {
			require.EqualValues(t, code, e.GetCode())
			require.Equal(t, int(code), closeCode(t, s.ws))
			return
		}
	}
	t.Fatal("no Error frame in 10 frames")
}

// Disconnect ends the live session of a deleted device with 4500 and
// leaves the others. A session of that device that begins afterwards,
// from a handshake that read the device before its deletion (the record
// is still in this connector's store here), is ended as soon as it is
// registered.
func TestDisconnectEndsDeletedDevices(t *testing.T) {
	f := newFixture(t, Config{})
	id, secret := f.device()
	otherID, otherSecret := f.device()
	gone := f.connect(id, secret)
	gone.synced(t)
	other := f.connect(otherID, otherSecret)
	other.synced(t)

	res, err := f.c.Disconnect(t.Context(), route.Disconnect{DeviceIDs: []string{id, ids.New()}})
	require.NoError(t, err)
	require.Equal(t, 1, res.Closed, "one of the two had a session")
	requireEnded(t, gone, sdkproto.CodeAuthFailed)

	msg := store.Message{PushID: ids.New(), Title: "still here", SentAt: time.Now()}
	out, err := f.c.Deliver(t.Context(), route.Batch{Message: msg, DeviceIDs: []string{otherID}})
	require.NoError(t, err)
	require.Equal(t, route.Written, out[0].Status)
	require.Equal(t, "still here", other.nextPush(t).GetTitle())

	again := f.connect(id, secret)
	requireEnded(t, again, sdkproto.CodeAuthFailed)
	require.Eventually(t, func() bool { return f.c.hub.get(id) == nil }, 10*time.Second, 10*time.Millisecond)
}

// staleDevices answers Devices from a snapshot, as a read that raced
// another writer would.
type staleDevices struct {
	*pebblestore.Store
	snapshot storetest.Snapshot
}

func (s staleDevices) Devices(_ context.Context, ids []string) ([]*store.Device, error) {
	return s.snapshot.Devices(ids), nil
}

// A device_info report is written into the device as stored: what another
// writer changed since stays, and a deleted device is not written back.
func TestReportKeepsOtherChanges(t *testing.T) {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	d := &store.Device{ID: ids.New(), AppID: "app", Secret: ids.Secret(32), Tokens: map[string]string{"fcm": "f1"}}
	gone := &store.Device{ID: ids.New(), AppID: "app", Secret: ids.Secret(32)}
	for _, x := range []*store.Device{d, gone} {
		require.NoError(t, st.PutDevice(ctx, x))
	}
	c := New(Config{}, staleDevices{Store: st, snapshot: storetest.Snapshot{d.ID: d.Clone(), gone.ID: gone.Clone()}}, nil, nil, nil)

	_, err = st.UpdateDevice(ctx, d.ID, func(x *store.Device) bool {
		x.Alias = "alice"
		return true
	})
	require.NoError(t, err)
	c.applyReport(ctx, d.ID, tiered.Fields{Locale: "de-DE", Tokens: map[string]string{"apns": "a1"}})
	devs, err := st.Devices(ctx, []string{d.ID})
	require.NoError(t, err)
	require.Equal(t, "alice", devs[0].Alias, "the alias set meanwhile stays")
	require.Equal(t, "de-DE", devs[0].Locale)
	require.Equal(t, map[string]string{"fcm": "f1", "apns": "a1"}, devs[0].Tokens)

	require.NoError(t, st.DeleteDevice(ctx, gone.ID))
	c.applyReport(ctx, gone.ID, tiered.Fields{Locale: "de-DE"})
	devs, err = st.Devices(ctx, []string{gone.ID})
	require.NoError(t, err)
	require.Nil(t, devs[0], "the deleted device was not written back")
}
