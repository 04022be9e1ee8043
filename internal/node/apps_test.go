package node

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
)

// GET /v1/apps/{id} shows an app and the settings in force, never its
// master secret; it is for the admin only (api.md section 3).
func TestGetApp(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.Relay.AckTimeout = 30 * time.Second }, nil, "")
	e.app = e.a.createApp(e.n.AdminToken(), " shop ")
	path := "/v1/apps/" + e.app.id

	code, body, _ := e.admin(http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, e.app.id, body["app_id"])
	require.Equal(t, "shop", body["name"], "the name as stored, trimmed")
	require.Equal(t, e.app.key, body["app_key"])
	require.NotContains(t, body, "master_secret")
	created, err := time.Parse(time.RFC3339Nano, body["created_at"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), created, time.Minute)
	require.Equal(t, map[string]any{"ack_timeout_seconds": float64(30), "payload_mode": "full", "push_rate_per_second": float64(0)}, body["settings"],
		"the server's defaults until the app sets its own")

	code, body, _ = e.admin(http.MethodPut, path+"/settings", map[string]any{"ack_timeout_seconds": 7, "payload_mode": "wakeup", "push_rate_per_second": 250})
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body, _ = e.admin(http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, map[string]any{"ack_timeout_seconds": float64(7), "payload_mode": "wakeup", "push_rate_per_second": float64(250)}, body["settings"])

	code, body, _ = e.admin(http.MethodGet, "/v1/apps/06GZY954R85FYAYXMD9K0Y2JB4", nil)
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "https://mopush.dev/problems/not-found", body["type"])

	code, body, hdr := e.a.do(http.MethodGet, path, "", "", nil, nil)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, "https://mopush.dev/problems/unauthorized", body["type"])
	require.Equal(t, `Bearer realm="mopush-admin"`, hdr.Get("WWW-Authenticate"))
	code, _, _ = e.a.do(http.MethodGet, path, e.app.key, e.app.secret, nil, nil)
	require.Equal(t, http.StatusUnauthorized, code, "the app's own credentials are not the admin's")
}

// A server ack timeout under a second is shown rounded up, never as 0.
func TestGetAppRoundsTheAckTimeoutUp(t *testing.T) {
	e := startRelay(t, nil, nil, "") // relay.ack_timeout 300ms
	e.app = e.a.createApp(e.n.AdminToken(), "fast")
	code, body, _ := e.admin(http.MethodGet, "/v1/apps/"+e.app.id, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, float64(1), body["settings"].(map[string]any)["ack_timeout_seconds"])
}

// With the relay disabled, the credential endpoints answer 503
// unavailable, and an app's settings show no ack timeout of the server's
// (api.md section 10; openapi.yaml, Settings).
func TestCredentialsWithoutRelay(t *testing.T) {
	n, _ := startNodeWith(t, Options{}, func(c *config.Config) { c.Relay.Disabled = true })
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "no relay")
	admin := http.Header{"Authorization": {"Bearer " + n.AdminToken()}}

	code, body, hdr := a.do(http.MethodPut, "/v1/apps/"+app.id+"/credentials/apns", "", "", map[string]string{"topic": "t"}, admin)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", body)
	require.Equal(t, "https://mopush.dev/problems/unavailable", body["type"])
	require.Equal(t, "1", hdr.Get("Retry-After"))
	code, _, _ = a.do(http.MethodGet, "/v1/apps/"+app.id+"/credentials", "", "", nil, admin)
	require.Equal(t, http.StatusServiceUnavailable, code)

	code, body, _ = a.do(http.MethodGet, "/v1/apps/"+app.id, "", "", nil, admin)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, map[string]any{"ack_timeout_seconds": float64(0), "payload_mode": "full", "push_rate_per_second": float64(0)}, body["settings"])
}
