package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func broadcastBody(title string) map[string]any {
	return map[string]any{"audience": map[string]any{"broadcast": true}, "notification": notification(title, "to all")}
}

// TestBroadcast: one app-wide push reaches every connected device of the
// app across connectors, none of another app; an offline device catches up
// from the broadcast stream; a device registered later does not get old
// broadcasts.
func TestBroadcast(t *testing.T) {
	n := startNode(t, Options{Connectors: 3, InternalHTTP: true})
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "bcast")
	other := a.createApp(n.AdminToken(), "other")

	ds := make([]*device, 6)
	for i := range ds {
		ds[i] = newDevice(t, n.URL(), app.key, client0())
		ds[i].register("")
		ds[i].start()
	}
	stranger := newDevice(t, n.URL(), other.key, client0())
	stranger.register("")
	stranger.start()
	for _, d := range append(ds, stranger) {
		d.waitReady()
	}

	first := a.push(app, broadcastBody("first"))
	for _, d := range ds {
		waitFor(t, 10*time.Second, "broadcast received", func() bool { return len(d.got()) == 1 })
		p := d.got()[0]
		require.Equal(t, first, p.ID)
		require.True(t, p.Broadcast)
	}
	waitFor(t, 10*time.Second, "broadcast counted", func() bool {
		c := a.counts(app, first)
		return c["targeted"] == 6 && c["delivered"] == 6 && c["acked"] == 6
	})

	st := ds[0].stop()
	second := a.push(app, broadcastBody("second"))
	for _, d := range ds[1:] {
		waitFor(t, 10*time.Second, "second received", func() bool { return len(d.got()) == 2 })
	}
	back := newDevice(t, n.URL(), app.key, st)
	back.start()
	back.waitReady()
	waitFor(t, 10*time.Second, "caught up", func() bool { return len(back.got()) == 1 })
	require.Equal(t, second, back.got()[0].ID, "the missed broadcast, once")

	late := newDevice(t, n.URL(), app.key, client0())
	late.register("")
	late.start()
	late.waitReady()
	third := a.push(app, broadcastBody("third"))
	waitFor(t, 10*time.Second, "late device gets new broadcasts", func() bool { return len(late.got()) == 1 })
	require.Equal(t, third, late.got()[0].ID, "no old broadcasts for a new device")
	waitFor(t, 10*time.Second, "back device gets it", func() bool { return len(back.got()) == 2 })
	require.Empty(t, stranger.got(), "other apps' devices get nothing")

	code, body, _ := a.do("POST", "/v1/pushes", app.key, app.secret, map[string]any{
		"audience": map[string]any{"broadcast": true, "device_ids": []string{ds[1].id()}}, "notification": notification("x", "y")}, nil)
	require.Equal(t, 422, code)
	require.Equal(t, "https://mopush.dev/problems/invalid-audience", body["type"])

	for _, d := range append(ds[1:], stranger, back, late) {
		d.stop()
	}
}
