package node

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/sdkproto/client"
)

// TestTagPushes: a push to tags reaches, once, every device of the app
// with one of them, connected or not, across connectors, and no other;
// a tag changed by the device moves it in or out. On the embedded store
// and on the clustered one (device state in MongoDB behind the caches).
func TestTagPushes(t *testing.T) {
	onBothStores(t, tagPushes)
}

func tagPushes(t *testing.T, cluster func(*config.Config)) {
	n, _ := startNodeWith(t, Options{Connectors: 3, InternalHTTP: true}, cluster)
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "tags")
	other := a.createApp(n.AdminToken(), "other")
	tagged := func(key string, tags ...string) *device {
		d := newDevice(t, n.URL(), key, client0())
		d.registerWith(client.Registration{Platform: "test", Tags: tags})
		d.start()
		d.waitReady()
		return d
	}
	sports, news, both := tagged(app.key, "sports"), tagged(app.key, "news", "lang:de"), tagged(app.key, "news", "sports")
	none := tagged(app.key, "beta")
	foreign := tagged(other.key, "sports")
	away := tagged(app.key, "sports")
	awayState := away.stop()

	body := map[string]any{"audience": map[string]any{"tags": []string{"sports", "news"}}, "notification": notification("tags", "sports or news")}
	id := a.push(app, body)
	waitEachGot(t, []*device{sports, news, both}, id)
	waitFor(t, 20*time.Second, "the tag push done", func() bool { return a.state(app, id) == "done" })
	c := a.counts(app, id)
	require.Equal(t, 4.0, c["targeted"], "four devices have the tags, one of them offline")
	require.Equal(t, 1.0, c["offline"])
	back := newDevice(t, n.URL(), app.key, awayState)
	back.start()
	back.waitReady()
	waitEachGot(t, []*device{back}, id)
	waitFor(t, 20*time.Second, "every target acknowledged", func() bool { return a.counts(app, id)["acked"] == 4 })
	for _, d := range []*device{sports, news, both, back} {
		require.Equal(t, 1, d.gotCount(id), "once, also for a device with both tags")
	}
	require.Zero(t, none.gotCount(id))
	require.Zero(t, foreign.gotCount(id), "another app's device with the tag")

	// The device drops the tag: the next push to it does not reach it.
	_, err := both.c.Update(t.Context(), client.Update{Tags: &[]string{"news"}})
	require.NoError(t, err)
	second := a.push(app, map[string]any{"audience": map[string]any{"tags": []string{"sports"}}, "notification": notification("tags", "sports")})
	waitEachGot(t, []*device{sports, back}, second)
	waitFor(t, 20*time.Second, "the second push done", func() bool { return a.state(app, second) == "done" })
	require.Equal(t, 2.0, a.counts(app, second)["targeted"])
	require.Zero(t, both.gotCount(second))

	code, out, _ := a.do(http.MethodPost, "/v1/pushes", app.key, app.secret,
		map[string]any{"audience": map[string]any{"tags": []string{"sports"}, "aliases": []string{"u"}}, "notification": notification("x", "y")}, nil)
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", out)
}
