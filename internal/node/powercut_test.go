package node

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/crashtest"
)

// cutProxy stands between a node and everyone who reaches it, devices and
// backends alike, so that a test can cut the node off the network at
// once: whatever the node writes after the cut reaches no one, as after a
// power cut.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	up    bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target, up: true, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.relay(c) })
	}
}

// track records c unless the proxy is cut, in which case it closes c.
func (p *cutProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *cutProxy) relay(c net.Conn) {
	if !p.track(c) {
		return
	}
	u, err := net.DialTimeout("tcp", p.target, time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(u) {
		c.Close()
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src) //nolint:errcheck // either side closing ends the pair
		done <- struct{}{}
	}
	go pipe(u, c)
	go pipe(c, u)
	<-done
	c.Close()
	u.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// cut closes every connection and refuses new ones until resume.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = false
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *cutProxy) resume() {
	p.mu.Lock()
	p.up = true
	p.mu.Unlock()
}

// runUntil runs a node until stop, which returns what Run returned.
func runUntil(t *testing.T, cfg config.Config, opts Options) (n *Node, stop func() error) {
	t.Helper()
	n, err := New(cfg, opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { stop() }) //nolint:errcheck // the test reads it when it matters
	waitFor(t, 30*time.Second, "node ready", n.Ready)
	return n, stop
}

// syncedDir creates dir on fs with every directory above it synced, so
// that the directory itself survives a power cut.
func syncedDir(t *testing.T, fs vfs.FS, dir string) {
	require.NoError(t, fs.MkdirAll(dir, 0o755))
	for d := dir; ; d = filepath.Dir(d) {
		f, err := fs.OpenDir(d)
		require.NoError(t, err)
		require.NoError(t, f.Sync())
		require.NoError(t, f.Close())
		if d == filepath.Dir(d) {
			return
		}
	}
}

// TestOneBinarySurvivesAPowerCut cuts the power of a node running every
// role while pushes and broadcasts are sent to two devices: the node is cut
// off the network, its JetStream server stops, and everything its embedded
// store wrote after its last sync is lost. A node started again on what
// is left must still deliver every push it answered 202 before the cut,
// once, and finish it; so must it every push it accepts after. Unlike a
// killed process, whose unsynced writes the operating system keeps, this
// checks that an answer and a delivery wait for the writes they stand on
// to be synced. In "twice", the power goes again right after the first
// restart, while the node resumes what the first cut left pending.
func TestOneBinarySurvivesAPowerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a node two or three times with two devices")
	}
	for _, tc := range []struct {
		name string
		cuts int
	}{{"once", 1}, {"twice", 2}} {
		t.Run(tc.name, func(t *testing.T) { powerCuts(t, tc.cuts) })
	}
}

func powerCuts(t *testing.T, cuts int) {
	addr := crashtest.FreeAddr(t)
	proxy := newCutProxy(t, addr)
	fs := vfs.NewStrictMem()
	cfg, err := config.Load("", nil)
	require.NoError(t, err)
	cfg.Server.Listen = addr
	cfg.Server.PublicURL = proxy.url()
	cfg.Server.DataDir = t.TempDir()
	cfg.Server.ShutdownGrace.Duration = 2 * time.Second
	cfg.Connector.DrainJitter = time.Millisecond
	syncedDir(t, fs, filepath.Join(cfg.Server.DataDir, "store"))
	opts := Options{storeFS: fs}
	n, stop := runUntil(t, cfg, opts)

	app := api{t, proxy.url()}.createApp(n.AdminToken(), "power")
	ds, _ := readyDevices(t, proxy.url(), app.key, 2)
	pushAcross(t, proxy.url(), app, ds, true, func() {
		// The power goes: nothing reaches anyone from now on, the bus
		// stops, and no later write of the store becomes durable. The
		// node's own shutdown then runs into a dead network and bus;
		// whatever it writes is dropped with the rest.
		proxy.cut()
		for range cuts {
			n.bus.Close()
			fs.SetIgnoreSyncs(true)
			t.Logf("the cut node's Run returned %v", stop())
			fs.ResetToSyncedState()
			fs.SetIgnoreSyncs(false)
			n, stop = runUntil(t, cfg, opts)
		}
		proxy.resume()
	})
}

// pushAcross sends pushes to the devices ds through base, fails the
// server with fail after 10 were accepted, and goes on until 30 were. Three
// senders push to the devices in turn and a fourth sends broadcasts; a
// call that gets no answer accepts nothing. Then every accepted push must
// reach its devices once and end done; with exactCounts, a push to one
// device must also read delivered 1 and acked 1.
func pushAcross(t *testing.T, base string, app appCreds, ds []*device, exactCounts bool, fail func()) {
	t.Helper()
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.id()
	}
	senders := crashtest.Send(base, app.key, app.secret, ids, 30, time.Now().Add(time.Minute))
	waitFor(t, 30*time.Second, "10 pushes accepted", func() bool { return senders.Count() >= 10 })
	failedAt := senders.Count()
	fail()
	accepted, lastFailure := senders.Wait()
	require.GreaterOrEqual(t, len(accepted), 30, "pushes accepted in a minute; the last refusal: %s", lastFailure)
	require.Less(t, failedAt, 30, "pushes were accepted after the failure too")
	want := crashtest.Want(accepted, len(ds))
	a := api{t, base}
	for i, d := range ds {
		deadline := time.Now().Add(60 * time.Second) // the device's reconnect backoff included
		for {
			var missing []string
			for id := range want[i] {
				if d.gotCount(id) == 0 {
					missing = append(missing, id)
				}
			}
			if len(missing) == 0 {
				break
			}
			if !time.Now().Before(deadline) {
				for _, id := range missing {
					_, out, _ := a.do(http.MethodGet, "/v1/pushes/"+id, app.key, app.secret, nil, nil)
					t.Logf("missing push %s: %v", id, out)
				}
				t.Fatalf("device %d misses %d of %d accepted pushes", i, len(missing), len(want[i]))
			}
			time.Sleep(50 * time.Millisecond)
		}
		seen := map[string]int{}
		for _, p := range d.got() {
			seen[p.ID]++
		}
		for id, k := range seen {
			require.Equal(t, 1, k, "device %d read push %s %d times", i, id, k)
		}
	}
	broadcasts := 0
	for id, d := range accepted { // a push is marked done a moment after its delivery
		waitFor(t, 30*time.Second, "push "+id+" done", func() bool { return a.state(app, id) == "done" })
		if d == crashtest.Everyone {
			broadcasts++
			continue
		}
		require.Equal(t, 1.0, a.counts(app, id)["targeted"], "push %s", id)
		if exactCounts {
			// Its delivery and its acknowledgement are counted once, the
			// counts written with the watermarks they follow.
			deadline := time.Now().Add(10 * time.Second)
			for c := a.counts(app, id); c["delivered"] != 1 || c["acked"] != 1; c = a.counts(app, id) {
				require.True(t, time.Now().Before(deadline), "push %s counts %v", id, c)
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	t.Logf("%d pushes accepted before the failure, %d in all, %d of them broadcasts", failedAt, len(accepted), broadcasts)
	for _, d := range ds {
		d.stop()
	}
}
