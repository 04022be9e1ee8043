package node

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/bus"
	"github.com/mopush/mopush/internal/config"
)

// A node on a NATS server of its own keeps relaying after that server
// restarts (a rolling upgrade of the NATS cluster): its client reconnects,
// and the relay's consumers, which fail while the server is gone, pull
// again. The queue is on disk, so jobs stored before the restart survive it.
func TestRelayAfterNATSRestart(t *testing.T) {
	dir := t.TempDir()
	nats, err := bus.Open(bus.Config{Dir: dir, Listen: "127.0.0.1:-1"}, nil)
	require.NoError(t, err)
	u, err := url.Parse(nats.ClientURL())
	require.NoError(t, err)
	natsURL := nats.ClientURL()
	t.Cleanup(func() { nats.Close() })

	e := startRelay(t, func(c *config.Config) { c.Bus.URL = natsURL }, nil, "")
	e.uploadAPNs()
	tok := apnsToken()
	d := e.newDevice(tok, nil)
	before := e.a.push(e.app, map[string]any{"audience": toDevices(d.id()), "notification": notification("before", "the restart")})
	e.waitCounts(before, map[string]float64{"relayed": 1, "offline": 1})

	nats.Close()
	nats, err = bus.Open(bus.Config{Dir: dir, Listen: "127.0.0.1:" + u.Port()}, nil)
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "the node reconnected", func() bool { return e.n.bus.Conn.IsConnected() })

	after := e.a.push(e.app, map[string]any{"audience": toDevices(d.id()), "notification": notification("after", "the restart")})
	waitFor(t, 60*time.Second, "relayed after the restart", func() bool { return e.a.counts(e.app, after)["relayed"] == 1 })
	require.Len(t, e.received(tok), 2)
}
