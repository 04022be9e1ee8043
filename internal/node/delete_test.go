package node

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/sdkproto"
)

// A device deleted by its app's backend is ended at once with 4500 on
// whichever connector holds it, no push reaches it any more (by alias, by
// broadcast), a push naming its id is refused, and its credentials no
// longer connect; a device that deletes itself with the SDK is gone the
// same way. On the embedded store and on the clustered one, whose device
// layer caches records in memory and in Redis.
func TestDeletedDeviceIsGone(t *testing.T) {
	onBothStores(t, deleteDevices)
}

// requireRefused waits for a device's Run to end with code.
func requireRefused(t *testing.T, d *device, code sdkproto.Code) {
	t.Helper()
	select {
	case err := <-d.done:
		var pe *sdkproto.PeerError
		require.True(t, errors.As(err, &pe), "Run ended with %v", err)
		require.Equal(t, code, pe.Code)
	case <-time.After(20 * time.Second):
		t.Fatal("the device is still connected")
	}
}

func deleteDevices(t *testing.T, cluster func(*config.Config)) {
	n, _ := startNodeWith(t, Options{Connectors: 3, InternalHTTP: true}, cluster)
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "delete")
	ds := make([]*device, 3)
	for i := range ds {
		ds[i] = newDevice(t, n.URL(), app.key, client0())
		ds[i].register("alice")
		ds[i].start()
		ds[i].waitReady()
	}
	gone, self, kept := ds[0], ds[1], ds[2]
	toAlice := map[string]any{"audience": map[string]any{"aliases": []string{"alice"}}, "notification": notification("to", "alice")}
	first := a.push(app, toAlice)
	waitEachGot(t, ds, first)

	goneState := gone.c.State()
	code, out, _ := a.do(http.MethodDelete, "/v1/devices/"+goneState.DeviceID, app.key, app.secret, nil, nil)
	require.Equal(t, http.StatusNoContent, code, "%v", out)
	requireRefused(t, gone, sdkproto.CodeAuthFailed)

	self.cancel()
	require.NoError(t, <-self.done)
	selfID := self.id()
	waiting := a.push(app, map[string]any{"audience": toDevices(selfID), "notification": notification("while", "away")})
	require.NoError(t, self.c.Delete(t.Context()))
	require.Empty(t, self.id(), "the SDK forgot its registration")

	second := a.push(app, toAlice)
	waitEachGot(t, []*device{kept}, second)
	waitFor(t, 20*time.Second, "the push to the alias done", func() bool { return a.state(app, second) == "done" })
	require.Equal(t, 1.0, a.counts(app, second)["targeted"], "the alias names the device left")
	all := a.push(app, broadcastBody("everyone"))
	waitEachGot(t, []*device{kept}, all)
	for _, d := range []*device{gone, self} {
		require.Zero(t, d.gotCount(second))
		require.Zero(t, d.gotCount(all))
	}

	for _, id := range []string{goneState.DeviceID, selfID} {
		code, out, _ = a.do(http.MethodPost, "/v1/pushes", app.key, app.secret,
			map[string]any{"audience": toDevices(id), "notification": notification("to", "nobody")}, nil)
		require.Equal(t, http.StatusUnprocessableEntity, code, "%v", out)
		require.Equal(t, "Unknown device", out["title"])
		code, _, _ = a.do(http.MethodGet, "/v1/devices/"+id, app.key, app.secret, nil, nil)
		require.Equal(t, http.StatusNotFound, code)
	}

	// The push that waited for the device when it deleted itself ends:
	// its fallback check finds no vendor channel left.
	waitFor(t, 40*time.Second, "the push to the deleted device ended", func() bool {
		return a.state(app, waiting) == "done" && a.counts(app, waiting)["no_channel"] == 1
	})
	c := a.counts(app, waiting)
	require.Equal(t, 1.0, c["targeted"], "%v", c)
	require.Equal(t, 1.0, c["no_channel"], "%v", c)
	require.Zero(t, c["acked"]+c["relayed"], "%v", c)
	// The connector may not have seen the session close yet when the push
	// came: then it wrote it to the socket (delivered) instead of finding
	// the device offline.
	require.Equal(t, 1.0, c["offline"]+c["delivered"], "%v", c)

	again := newDevice(t, n.URL(), app.key, goneState)
	again.start()
	requireRefused(t, again, sdkproto.CodeAuthFailed)
}
