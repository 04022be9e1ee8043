package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
)

// TestGatewayAppendReachesALiveSession: the gateway cannot deliver to the
// connector that holds a device's live session (here the connector
// refuses its calls: another internal token, as after a botched rotation;
// a partition between the two does the same), so after its attempts it
// appends the message to the device's stream itself. Before, the session
// got it only at the device's next reconnect; now the gateway announces the
// append on NATS and the connector writes it to the session.
func TestGatewayAppendReachesALiveSession(t *testing.T) {
	cluster := startCluster(t)
	gw, _ := startNodeWith(t, Options{Roles: Roles{Gateway: true}}, cluster)
	c, _ := startNodeWith(t, Options{Roles: Roles{Connector: true}}, func(cfg *config.Config) {
		cluster(cfg)
		cfg.Server.InternalToken = "a-token-the-gateway-does-not-have"
	})
	waitFor(t, 20*time.Second, "the connector on the ring", func() bool { return gw.members.Ring().Len() == 1 })

	a := api{t: t, base: gw.URL()}
	app := a.createApp(gw.AdminToken(), "announced")
	ds, ids := readyDevices(t, gw.URL(), app.key, 2)
	require.Equal(t, 2, c.Connectors()[0].Sessions())
	id := a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("no", "route")})
	waitEachGot(t, ds, id)
	waitFor(t, 20*time.Second, "the push routed", func() bool { return a.state(app, id) == "done" })
	counts := a.counts(app, id)
	require.Equal(t, 2.0, counts["offline"], "stored by the gateway: %v", counts)
	require.Contains(t, metricLine(t, c.URL(), "push_connector_announced_offers_total"), " 2")
	waitFor(t, 20*time.Second, "delivered and acknowledged", func() bool {
		c := a.counts(app, id)
		return c["acked"] == 2 && c["delivered"] == 2
	})
	requireEachOnce(t, ds, id)
}
