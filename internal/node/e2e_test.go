package node

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func notification(title, body string) map[string]any {
	return map[string]any{"title": title, "body": body}
}

func toDevices(ids ...string) map[string]any {
	return map[string]any{"device_ids": ids}
}

// TestEndToEnd walks the quick start: app, device registered, dispatched,
// connected, pushed over REST, received, acked, counted; then offline
// catch-up on reconnect, exactly once and in order.
func TestEndToEnd(t *testing.T) {
	n := startNode(t, Options{})
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "demo")

	d := newDevice(t, n.URL(), app.key, client0())
	d.register("")
	d.start()
	d.waitReady()

	id := a.push(app, map[string]any{"audience": toDevices(d.id()), "notification": map[string]any{
		"title": "hi", "body": "there", "data": map[string]string{"k": "v"}}})
	waitFor(t, 10*time.Second, "push received", func() bool { return len(d.got()) == 1 })
	p := d.got()[0]
	require.Equal(t, id, p.ID)
	require.Equal(t, "hi", p.Title)
	require.Equal(t, "there", p.Body)
	require.Equal(t, map[string]string{"k": "v"}, p.Data)
	require.EqualValues(t, 1, p.Seq)
	// The ack came within the 20 s waited for it so far, so within 60 s;
	// how much sooner depends on the machine. Its delay is counted with the
	// delivered count, which may trail acked (api.md section 7).
	waitFor(t, 10*time.Second, "acked count", func() bool {
		c := a.counts(app, id)
		return c["acked"] == 1 && c["delivered"] == 1 && c["acked_within_60s"] == 1
	})
	c := a.counts(app, id)
	within1s, within10s := c["acked_within_1s"], c["acked_within_10s"]
	require.LessOrEqual(t, within1s, within10s)
	require.LessOrEqual(t, within10s, 1.0)
	delete(c, "acked_within_1s")
	delete(c, "acked_within_10s")
	require.Equal(t, map[string]float64{"targeted": 1, "delivered": 1, "acked": 1, "offline": 0, "failed": 0,
		"relayed": 0, "relay_failed": 0, "expired": 0, "no_channel": 0, "dead_tokens": 0, "opened": 0, "clicked": 0,
		"acked_within_60s": 1}, c)
	// The connector's histogram of ack delays saw that ack.
	resp, err := http.Get(n.URL() + "/metrics")
	require.NoError(t, err)
	metrics, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(metrics), `push_connector_ack_delay_seconds_count{node_id="connector-1"} 1`)

	st := d.stop()
	require.EqualValues(t, 1, st.LastSeq)
	waitFor(t, 10*time.Second, "session gone", func() bool { return n.Connectors()[0].Sessions() == 0 })

	id2 := a.push(app, map[string]any{"audience": toDevices(st.DeviceID), "notification": notification("two", "2")})
	id3 := a.push(app, map[string]any{"audience": toDevices(st.DeviceID), "notification": notification("three", "3")})
	waitFor(t, 10*time.Second, "offline counted", func() bool { return a.counts(app, id3)["offline"] == 1 })

	d2 := newDevice(t, n.URL(), app.key, st)
	d2.start()
	d2.waitReady()
	waitFor(t, 10*time.Second, "catch-up", func() bool { return len(d2.got()) >= 2 })
	got := d2.got()
	require.Len(t, got, 2, "each missed push exactly once")
	require.Equal(t, []string{id2, id3}, []string{got[0].ID, got[1].ID}, "in order")
	require.Equal(t, []uint64{2, 3}, []uint64{got[0].Seq, got[1].Seq})
	waitFor(t, 10*time.Second, "catch-up acked", func() bool { return a.counts(app, id3)["acked"] == 1 })
	waitFor(t, 10*time.Second, "catch-up delivered", func() bool { return a.counts(app, id2)["delivered"] == 1 })
	d2.stop()
}

// TestThreeConnectors spreads devices over three connectors in one process,
// routed over HTTP/2 as across machines, and checks every push arrives.
func TestThreeConnectors(t *testing.T) {
	n := startNode(t, Options{Connectors: 3, InternalHTTP: true})
	a := api{t: t, base: n.URL()}
	app := a.createApp(n.AdminToken(), "three")

	const devices = 24
	ds := make([]*device, devices)
	ids := make([]string, devices)
	for i := range ds {
		ds[i] = newDevice(t, n.URL(), app.key, client0())
		ds[i].register(fmt.Sprintf("user-%d", i%6))
		ds[i].start()
		ids[i] = ds[i].id()
	}
	for _, d := range ds {
		d.waitReady()
	}
	owners := 0
	for _, c := range n.Connectors() {
		if c.Sessions() > 0 {
			owners++
		}
	}
	require.GreaterOrEqual(t, owners, 2, "devices land on different connectors")

	one := a.push(app, map[string]any{"audience": toDevices(ids...), "notification": notification("all", "of you")})
	aliased := a.push(app, map[string]any{"audience": map[string]any{"aliases": []string{"user-0", "user-1"}},
		"notification": notification("alias", "push")})
	for i, d := range ds {
		want := 1
		if i%6 < 2 {
			want = 2
		}
		waitFor(t, 10*time.Second, "device pushes", func() bool { return len(d.got()) == want })
		// Separate requests are routed concurrently: order between them is
		// not promised, only within one device's stream.
		var gotIDs []string
		for _, p := range d.got() {
			gotIDs = append(gotIDs, p.ID)
		}
		if want == 2 {
			require.ElementsMatch(t, []string{one, aliased}, gotIDs)
		} else {
			require.Equal(t, []string{one}, gotIDs)
		}
	}
	waitFor(t, 10*time.Second, "all acked and delivered", func() bool {
		c := a.counts(app, one)
		return c["acked"] == devices && c["delivered"] == devices
	})
	c := a.counts(app, one)
	require.Equal(t, float64(devices), c["targeted"])
	require.Equal(t, float64(devices), c["delivered"])
	require.Equal(t, float64(0), c["failed"])
	require.Equal(t, float64(8), a.counts(app, aliased)["targeted"])
	for _, d := range ds {
		d.stop()
	}
}

func TestReadyAndMetrics(t *testing.T) {
	n := startNode(t, Options{})
	for _, p := range []string{"/livez", "/readyz", "/metrics"} {
		resp, err := http.Get(n.URL() + p)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
	}
}
