package node

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/sdkproto/client"
)

// TestOpensAndClicksCounted: a device's open and click reports count in
// its push's counts once per device, however often it sends them, also
// for a broadcast; a report about another app's push or an unknown one
// counts nowhere. On the embedded store and on the clustered one (pushes
// in MongoDB).
func TestOpensAndClicksCounted(t *testing.T) {
	onBothStores(t, opensAndClicks)
}

func opensAndClicks(t *testing.T, cluster func(*config.Config)) {
	n, _ := startNodeWith(t, Options{Connectors: 2, InternalHTTP: true}, cluster)
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "engage")
	other := a.createApp(n.AdminToken(), "other")
	ds := make([]*device, 3)
	for i := range ds {
		ds[i] = newDevice(t, n.URL(), app.key, client0())
		ds[i].register("")
		ds[i].start()
		ds[i].waitReady()
	}
	stranger := newDevice(t, n.URL(), other.key, client0())
	stranger.register("")
	stranger.start()
	stranger.waitReady()

	id := a.push(app, map[string]any{"audience": toDevices(ds[0].id(), ds[1].id(), ds[2].id()), "notification": notification("hi", "open me")})
	all := a.push(app, broadcastBody("everyone"))
	theirs := a.push(other, map[string]any{"audience": toDevices(stranger.id()), "notification": notification("their", "own")})
	waitEachGot(t, ds, id)
	waitEachGot(t, ds, all)
	waitEachGot(t, []*device{stranger}, theirs)

	report := func(d *device, kind, push string, times int) {
		for range times { // sent again: counted once
			require.NoError(t, d.c.Report(kind, push, nil))
		}
	}
	report(ds[0], "open", id, 3)
	report(ds[1], "open", id, 3)
	report(ds[1], "click", id, 3)
	report(ds[2], "open", all, 2)
	report(stranger, "open", id, 1)
	report(stranger, "click", "06ZZZZZZZZZZZZZZZZZZZZZZZZ", 1)
	// One session's frames are handled in order: once each session's last
	// report counted, the ones it sent before were handled.
	for _, d := range ds {
		report(d, "click", all, 1)
	}
	report(stranger, "open", theirs, 1)
	waitFor(t, 20*time.Second, "each session's last report counted", func() bool {
		return a.counts(app, all)["clicked"] == 3 && a.counts(other, theirs)["opened"] == 1
	})
	c := a.counts(app, id)
	require.Equal(t, 2.0, c["opened"], "two devices opened it; repeats and the other app's device do not count")
	require.Equal(t, 1.0, c["clicked"])

	// Over HTTP, as an app that shows a notification without a
	// connection reports it: counted once too, and only for its own app.
	counted, err := ds[2].c.ReportHTTP(t.Context(), "click", id)
	require.NoError(t, err)
	require.True(t, counted)
	counted, err = ds[2].c.ReportHTTP(t.Context(), "click", id)
	require.NoError(t, err)
	require.False(t, counted, "counted before")
	_, err = stranger.c.ReportHTTP(t.Context(), "click", id)
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusUnprocessableEntity, apiErr.Status)
	require.Equal(t, 2.0, a.counts(app, id)["clicked"])
	require.Equal(t, 1.0, a.counts(app, all)["opened"], "a broadcast's open counts once per device")
}
