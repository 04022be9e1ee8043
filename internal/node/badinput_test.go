package node

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBadInput sends every kind of bad request and checks the typed
// problem answer, then that a push accepted before them is intact.
func TestBadInput(t *testing.T) {
	n := startNode(t, Options{})
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "main")
	other := a.createApp(n.AdminToken(), "other")

	d := newDevice(t, n.URL(), app.key, client0())
	d.register("")
	foreign := newDevice(t, n.URL(), other.key, client0())
	foreign.register("")

	accepted := a.push(app, map[string]any{"audience": toDevices(d.id()), "notification": notification("kept", "safe")})

	many := make([]string, 1001)
	for i := range many {
		many[i] = d.id()
	}
	good := `{"audience":{"device_ids":["` + d.id() + `"]},"notification":{"title":"t"}}`
	cases := []struct {
		name       string
		method     string
		path       string
		user, pass string
		body       any
		status     int
		slug       string
	}{
		{"malformed json", "POST", "/v1/pushes", app.key, app.secret, `{"audience":`, 400, "bad-json"},
		{"not an object", "POST", "/v1/pushes", app.key, app.secret, `[1,2]`, 400, "bad-json"},
		{"trailing data", "POST", "/v1/pushes", app.key, app.secret, good + `{}`, 400, "bad-json"},
		{"unknown field", "POST", "/v1/pushes", app.key, app.secret,
			`{"audience":{"device_ids":["x"]},"notification":{"title":"t"},"priority":9}`, 400, "unknown-field"},
		{"empty notification", "POST", "/v1/pushes", app.key, app.secret,
			map[string]any{"audience": toDevices(d.id()), "notification": map[string]any{}}, 422, "empty-notification"},
		{"oversized notification", "POST", "/v1/pushes", app.key, app.secret,
			map[string]any{"audience": toDevices(d.id()), "notification": notification("big", strings.Repeat("x", 5000))}, 413, "notification-too-large"},
		{"no credentials", "POST", "/v1/pushes", "", "", good, 401, "unauthorized"},
		{"unknown app key", "POST", "/v1/pushes", "nokey", app.secret, good, 401, "unauthorized"},
		{"wrong secret", "POST", "/v1/pushes", app.key, "wrong", good, 401, "unauthorized"},
		{"another app's device", "POST", "/v1/pushes", app.key, app.secret,
			map[string]any{"audience": toDevices(foreign.id()), "notification": notification("x", "y")}, 403, "foreign-device"},
		{"unknown device", "POST", "/v1/pushes", app.key, app.secret,
			map[string]any{"audience": toDevices("NOPE"), "notification": notification("x", "y")}, 422, "unknown-device"},
		{"too many targets", "POST", "/v1/pushes", app.key, app.secret,
			map[string]any{"audience": toDevices(many...), "notification": notification("x", "y")}, 422, "audience-too-large"},
		{"empty audience", "POST", "/v1/pushes", app.key, app.secret,
			map[string]any{"audience": map[string]any{}, "notification": notification("x", "y")}, 422, "empty-audience"},
		{"bad ttl", "POST", "/v1/pushes", app.key, app.secret,
			map[string]any{"audience": toDevices(d.id()), "notification": notification("x", "y"), "options": map[string]any{"ttl_seconds": -1}}, 422, "invalid-ttl"},
		{"unknown push", "GET", "/v1/pushes/NOPE", app.key, app.secret, nil, 404, "not-found"},
		{"another app's push", "GET", "/v1/pushes/" + accepted, other.key, other.secret, nil, 404, "not-found"},
		{"register with unknown app key", "POST", "/v1/devices", "", "", `{"app_key":"nope"}`, 401, "unauthorized"},
		{"admin without token", "POST", "/v1/apps", "", "", `{"name":"x"}`, 401, "unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := api{t: t, base: n.URL()}
			code, body, hdr := a.do(tc.method, tc.path, tc.user, tc.pass, tc.body, nil)
			require.Equal(t, tc.status, code, "%v", body)
			require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
			require.Equal(t, "https://mopush.dev/problems/"+tc.slug, body["type"])
			require.EqualValues(t, tc.status, body["status"])
			require.NotEmpty(t, body["title"])
		})
	}

	// Nothing accepted before the bad requests was lost.
	d.start()
	d.waitReady()
	waitFor(t, 10*time.Second, "accepted push delivered", func() bool { return len(d.got()) == 1 })
	require.Equal(t, accepted, d.got()[0].ID)
	d.stop()
}

func TestIdempotencyKey(t *testing.T) {
	n := startNode(t, Options{})
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "idem")
	d := newDevice(t, n.URL(), app.key, client0())
	d.register("")
	body := map[string]any{"audience": toDevices(d.id()), "notification": notification("once", "only")}
	key := http.Header{"Idempotency-Key": {"order-42"}}

	code, first, _ := a.do("POST", "/v1/pushes", app.key, app.secret, body, key)
	require.Equal(t, 202, code)
	code, again, hdr := a.do("POST", "/v1/pushes", app.key, app.secret, body, key)
	require.Equal(t, 202, code)
	require.Equal(t, first["push_id"], again["push_id"])
	require.Equal(t, "true", hdr.Get("Idempotent-Replayed"))

	other := map[string]any{"audience": toDevices(d.id()), "notification": notification("different", "body")}
	code, prob, _ := a.do("POST", "/v1/pushes", app.key, app.secret, other, key)
	require.Equal(t, 422, code)
	require.Equal(t, "https://mopush.dev/problems/idempotency-key-reused", prob["type"])

	d.start()
	d.waitReady()
	waitFor(t, 10*time.Second, "push delivered", func() bool { return len(d.got()) == 1 })
	require.Len(t, d.got(), 1, "the retried request delivered once")
	d.stop()
}
