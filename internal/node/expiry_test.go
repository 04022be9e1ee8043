package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
)

// TestExpiredBeforeReconnect: a push whose TTL ran out while its device was
// offline is never shown, and counts as expired, not delivered or acked.
func TestExpiredBeforeReconnect(t *testing.T) {
	n, _ := startNodeWith(t, Options{}, func(c *config.Config) { c.Relay.Disabled = true })
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "ttl")
	d := newDevice(t, n.URL(), app.key, client0())
	d.register("")

	gone := a.push(app, map[string]any{"audience": toDevices(d.id()), "notification": notification("brief", "x"),
		"options": map[string]any{"ttl_seconds": 1}})
	code, body, _ := a.do("GET", "/v1/pushes/"+gone, app.key, app.secret, nil, nil)
	require.Equal(t, 200, code)
	expires, err := time.Parse(time.RFC3339Nano, body["expires_at"].(string))
	require.NoError(t, err)
	waitFor(t, 10*time.Second, "TTL passed", func() bool { return time.Now().After(expires) })
	kept := a.push(app, map[string]any{"audience": toDevices(d.id()), "notification": notification("kept", "y")})

	d.start()
	d.waitReady()
	waitFor(t, 10*time.Second, "kept push", func() bool { return len(d.got()) == 1 })
	require.Equal(t, kept, d.got()[0].ID, "the expired push is never shown")
	waitFor(t, 10*time.Second, "kept acked", func() bool { return a.counts(app, kept)["acked"] == 1 })
	c := a.counts(app, gone)
	require.Equal(t, float64(1), c["expired"])
	require.Zero(t, c["delivered"])
	require.Zero(t, c["acked"])
	d.stop()
}

func TestHugeTTLRefused(t *testing.T) {
	n := startNode(t, Options{})
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "ttl")
	d := newDevice(t, n.URL(), app.key, client0())
	d.register("")
	code, body, _ := a.do("POST", "/v1/pushes", app.key, app.secret, map[string]any{"audience": toDevices(d.id()),
		"notification": notification("x", "y"), "options": map[string]any{"ttl_seconds": int64(10000000000)}}, nil)
	require.Equal(t, 422, code)
	require.Equal(t, "https://mopush.dev/problems/invalid-ttl", body["type"])
}

func TestUnknownPathIsProblem(t *testing.T) {
	n := startNode(t, Options{})
	a := api{t: t, base: n.URL()}
	code, body, hdr := a.do("GET", "/v1/nothing", "", "", nil, nil)
	require.Equal(t, 404, code)
	require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
	require.Equal(t, "https://mopush.dev/problems/not-found", body["type"])
	code, _, hdr = a.do("POST", "/v1/dispatch", "", "", "{}", nil)
	require.Equal(t, 405, code)
	require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
}
