package connector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
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
