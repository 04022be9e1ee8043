package connector

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto"
)

// A device that names itself in the upgrade URL (a reconnect that did not
// ask the dispatcher) is refused with 421 by a connector that does not own
// it; one that does not name itself (it was dispatched here, maybe as a
// fallback) is accepted as before, and so is a named device this connector
// owns.
func TestUpgradeNamingAForeignDeviceIsMisdirected(t *testing.T) {
	reg := prometheus.NewRegistry()
	ownedID, foreignID := ids.New(), ids.New()
	_, st, url, _ := serveConnector(t, Config{}, func(id string) bool { return id != foreignID }, reg)
	secrets := map[string][]byte{ownedID: ids.Secret(32), foreignID: ids.Secret(32)}
	for id, secret := range secrets {
		require.NoError(t, st.PutDevice(context.Background(), &store.Device{ID: id, AppID: "app", Secret: secret}))
	}
	d := websocket.Dialer{Subprotocols: []string{sdkproto.Subprotocol}}
	_, resp, err := d.Dial(url+"?device_id="+foreignID, nil)
	require.ErrorIs(t, err, websocket.ErrBadHandshake)
	require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
	resp.Body.Close()
	require.Equal(t, 1.0, handshakesWith(t, reg, "misdirected"))

	for _, u := range []string{url + "?device_id=" + ownedID, url} {
		id := ownedID
		if u == url {
			id = foreignID
		}
		ws, codec, _ := clientConnect(t, u, id, secrets[id], false)
		s := &rawSession{ws: ws, codec: codec}
		require.NotNil(t, s.read(t).GetWelcome(), u)
		ws.Close()
	}
}

// handshakesWith returns the count of handshakes of one outcome in reg.
func handshakesWith(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	return obstest.Value(t, reg, "push_connector_handshakes_total", map[string]string{"outcome": outcome})
}

// A batch for devices this connector does not own is refused, unless it is
// a fallback (their owner is down): then they are appended and written to
// their live sessions here, as for devices it owns.
func TestFallbackBatchTakesForeignDevices(t *testing.T) {
	ctx := context.Background()
	ownedID, liveID, awayID := ids.New(), ids.New(), ids.New()
	c, st, url, _ := serveConnector(t, Config{}, func(id string) bool { return id == ownedID }, nil)
	secrets := map[string][]byte{}
	for _, id := range []string{ownedID, liveID, awayID} {
		secrets[id] = ids.Secret(32)
		require.NoError(t, st.PutDevice(ctx, &store.Device{ID: id, AppID: "app", Secret: secrets[id]}))
	}
	// The foreign device came here as a fallback (dispatched, not named).
	ws, codec, _ := clientConnect(t, url, liveID, secrets[liveID], false)
	t.Cleanup(func() { ws.Close() })
	live := &rawSession{ws: ws, codec: codec}
	require.NotNil(t, live.read(t).GetWelcome())
	live.synced(t)

	batch := route.Batch{Message: store.Message{PushID: "p1", Body: "b"}, DeviceIDs: []string{ownedID, liveID, awayID}}
	res, err := c.Deliver(ctx, batch)
	require.NoError(t, err)
	require.Equal(t, []route.Status{route.Offline, route.Refused, route.Refused},
		[]route.Status{res[0].Status, res[1].Status, res[2].Status})

	batch.Message.PushID, batch.Fallback = "p2", true
	res, err = c.Deliver(ctx, batch)
	require.NoError(t, err)
	require.Equal(t, []route.Status{route.Offline, route.Written, route.Offline},
		[]route.Status{res[0].Status, res[1].Status, res[2].Status})
	p := live.nextPush(t)
	require.Equal(t, "p2", p.PushId)
	require.Equal(t, res[1].Seq, p.Seq)
	page, err := st.ReadStream(ctx, awayID, res[2].Epoch, 0, 10)
	require.NoError(t, err)
	require.Len(t, page.Messages, 1)
	require.Equal(t, "p2", page.Messages[0].PushID)
}

// A retried batch appends its message only to the streams that do not
// hold it yet: a device keeps one copy, at the position of the first.
func TestRetryBatchSkipsStreamsThatHoldTheMessage(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	c, st, _, _ := serveConnector(t, Config{}, nil, reg)
	had, fresh := ids.New(), ids.New()
	msg := store.Message{PushID: "p1", Body: "b"}
	first, err := c.Deliver(ctx, route.Batch{Message: msg, DeviceIDs: []string{had}})
	require.NoError(t, err)
	// Other pushes after it, still inside the window that is searched.
	for i := range 5 {
		_, err := c.Deliver(ctx, route.Batch{Message: store.Message{PushID: fmt.Sprint("q", i)}, DeviceIDs: []string{had}})
		require.NoError(t, err)
	}

	res, err := c.Deliver(ctx, route.Batch{Message: msg, DeviceIDs: []string{had, fresh}, Retry: true})
	require.NoError(t, err)
	require.Equal(t, first[0], res[0], "the first copy's position")
	require.Equal(t, route.Offline, res[1].Status)
	require.EqualValues(t, 1, res[1].Seq, "appended where it was missing")
	for _, id := range []string{had, fresh} {
		page, err := st.ReadStream(ctx, id, 0, 0, 100)
		require.NoError(t, err)
		n := 0
		for _, m := range page.Messages {
			if m.PushID == "p1" {
				n++
			}
		}
		require.Equal(t, 1, n, id)
	}
	require.Equal(t, 1.0, obstest.Value(t, reg, "push_connector_repeats_skipped_total", nil))

	// Without the retry mark, a batch appends as before.
	res, err = c.Deliver(ctx, route.Batch{Message: msg, DeviceIDs: []string{had}})
	require.NoError(t, err)
	require.EqualValues(t, 7, res[0].Seq, "after p1 and five others")
}
