package node

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
)

// TestScheduledPushes: a push with a send time ahead reaches its device
// at that time and not before; a cancelled one never does; one whose time
// comes while the node is down is sent when it starts again. On the
// embedded store and on the clustered one (pushes in MongoDB).
func TestScheduledPushes(t *testing.T) {
	onBothStores(t, scheduledPushes)
}

func scheduledPushes(t *testing.T, cluster func(*config.Config)) {
	dir := t.TempDir()
	setup := func(c *config.Config) {
		c.Server.DataDir = dir
		if cluster != nil {
			cluster(c)
		}
	}
	n, stop := startNodeWith(t, Options{}, setup)
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "schedule")
	d := newDevice(t, n.URL(), app.key, client0())
	d.register("")
	d.start()
	d.waitReady()

	scheduled := func(at time.Time, title string) string {
		return a.push(app, map[string]any{"audience": toDevices(d.id()), "notification": notification(title, "later"),
			"options": map[string]any{"send_at": at.Format(time.RFC3339Nano)}})
	}
	soonAt := time.Now().Add(2 * time.Second)
	soon := scheduled(soonAt, "soon")
	cancelled := scheduled(time.Now().Add(time.Hour), "cancelled")
	require.Equal(t, "scheduled", a.state(app, soon))
	code, out, _ := a.do(http.MethodDelete, "/v1/pushes/"+cancelled, app.key, app.secret, nil, nil)
	require.Equal(t, http.StatusNoContent, code, "%v", out)
	require.Equal(t, "cancelled", a.state(app, cancelled))
	listed := func(query string) []string {
		code, out, _ := a.do(http.MethodGet, "/v1/pushes?"+query, app.key, app.secret, nil, nil)
		require.Equal(t, http.StatusOK, code, "%v", out)
		var got []string
		for _, p := range out["pushes"].([]any) {
			got = append(got, p.(map[string]any)["push_id"].(string))
		}
		return got
	}
	require.Equal(t, []string{cancelled, soon}, listed(""), "the app's pushes, newest first")
	require.Equal(t, []string{cancelled}, listed("state=cancelled"))
	require.Equal(t, []string{soon}, listed("state=scheduled"))

	// Not before its time: a push seen is checked against the clock read
	// after it was seen.
	for deadline := time.Now().Add(20 * time.Second); d.gotCount(soon) == 0; {
		now := time.Now()
		require.True(t, now.Before(deadline), "the scheduled push did not arrive")
		time.Sleep(20 * time.Millisecond)
	}
	require.False(t, time.Now().Before(soonAt))
	waitFor(t, 20*time.Second, "the scheduled push acknowledged", func() bool { return a.counts(app, soon)["acked"] == 1 })
	waitFor(t, 20*time.Second, "the scheduled push done", func() bool { return a.state(app, soon) == "done" })
	c := a.counts(app, soon)
	require.Equal(t, 1.0, c["targeted"])
	require.Equal(t, 1.0, c["delivered"])

	// Its time comes while the node is down.
	laterAt := time.Now().Add(time.Second)
	later := scheduled(laterAt, "later")
	st := d.stop()
	stop()
	time.Sleep(time.Until(laterAt.Add(500 * time.Millisecond)))
	n2, _ := startNodeWith(t, Options{}, setup)
	a.base = n2.URL()
	d2 := newDevice(t, n2.URL(), app.key, st)
	d2.start()
	d2.waitReady()
	waitEachGot(t, []*device{d2}, later)
	waitFor(t, 20*time.Second, "the late push acknowledged", func() bool { return a.counts(app, later)["acked"] == 1 })
	require.Equal(t, 1, d2.gotCount(later))
	require.Zero(t, d2.gotCount(soon), "acknowledged before the restart")
	require.Zero(t, d.gotCount(cancelled)+d2.gotCount(cancelled))
	require.Equal(t, "cancelled", a.state(app, cancelled))
	d2.stop()
}
