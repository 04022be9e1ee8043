package node

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/sdkproto/client"
)

// TestSessionOutlivesHandshakeDeadline: a connected device stays connected
// past its handshake timeout, kept alive by heartbeats; it neither drops nor
// reconnects.
func TestSessionOutlivesHandshakeDeadline(t *testing.T) {
	n, _ := startNodeWith(t, Options{}, func(c *config.Config) { c.Connector.Heartbeat = 100 * time.Millisecond })
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "long")
	var drops atomic.Int32
	d := &device{t: t, ready: make(chan struct{})}
	d.c = client.New(client.Config{
		Server: n.URL(), AppKey: app.key, HandshakeTimeout: 300 * time.Millisecond,
		OnPush: func(p client.Push) {
			d.mu.Lock()
			d.pushes = append(d.pushes, p)
			d.mu.Unlock()
		},
		OnEvent: func(e client.Event) {
			switch e.Kind {
			case client.EventSynced:
				d.once.Do(func() { close(d.ready) })
			case client.EventDisconnected:
				drops.Add(1)
			}
		},
	}, client0())
	d.register("")
	d.start()
	d.waitReady()
	connected := time.Now()
	waitFor(t, 10*time.Second, "five handshake timeouts to pass", func() bool { return time.Since(connected) > 1500*time.Millisecond })
	require.Zero(t, drops.Load(), "the session survived its handshake deadline")
	id := a.push(app, map[string]any{"audience": toDevices(d.id()), "notification": notification("still", "here")})
	waitFor(t, 10*time.Second, "push", func() bool { return len(d.got()) == 1 })
	require.Equal(t, id, d.got()[0].ID)
	require.Zero(t, drops.Load())
	d.stop()
}
