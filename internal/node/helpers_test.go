package node

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/sdkproto/client"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startNode runs a node on a random port until the test ends.
func startNode(t testing.TB, opts Options) *Node {
	t.Helper()
	n, _ := startNodeWith(t, opts, nil)
	return n
}

// startNodeWith runs a node with a configuration changed by mutate; stop
// ends it early (it is safe to call again at cleanup).
func startNodeWith(t testing.TB, opts Options, mutate func(*config.Config)) (n *Node, stop func()) {
	t.Helper()
	cfg, err := config.Load("", nil)
	require.NoError(t, err)
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Server.DataDir = t.TempDir()
	cfg.Server.ShutdownGrace.Duration = 2 * time.Second
	cfg.Connector.DrainJitter = time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	n, err = New(cfg, opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	waitFor(t, 30*time.Second, "node ready", n.Ready)
	return n, stop
}

// api is a small REST client for tests.
type api struct {
	t    testing.TB
	base string
}

func (a api) do(method, path, user, pass string, body any, hdr http.Header) (int, map[string]any, http.Header) {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		enc, err := json.Marshal(b)
		require.NoError(a.t, err)
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	require.NoError(a.t, err)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	out := map[string]any{}
	raw, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	if len(raw) > 0 {
		require.NoError(a.t, json.Unmarshal(raw, &out), "body %s", raw)
	}
	return resp.StatusCode, out, resp.Header
}

type appCreds struct{ id, key, secret string }

func (a api) createApp(admin, name string) appCreds {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.base+"/v1/apps", bytes.NewBufferString(`{"name":"`+name+`"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	require.Equal(a.t, http.StatusCreated, resp.StatusCode)
	var out struct{ AppID, AppKey, MasterSecret string }
	var raw map[string]string
	require.NoError(a.t, json.NewDecoder(resp.Body).Decode(&raw))
	out.AppID, out.AppKey, out.MasterSecret = raw["app_id"], raw["app_key"], raw["master_secret"]
	require.NotEmpty(a.t, out.MasterSecret)
	return appCreds{out.AppID, out.AppKey, out.MasterSecret}
}

func (a api) push(app appCreds, body any) string {
	a.t.Helper()
	code, out, _ := a.do(http.MethodPost, "/v1/pushes", app.key, app.secret, body, nil)
	require.Equal(a.t, http.StatusAccepted, code, "%v", out)
	return out["push_id"].(string)
}

// state returns the state of push id ("pending" or "done").
func (a api) state(app appCreds, id string) string {
	a.t.Helper()
	code, out, _ := a.do(http.MethodGet, "/v1/pushes/"+id, app.key, app.secret, nil, nil)
	require.Equal(a.t, http.StatusOK, code, "%v", out)
	return out["state"].(string)
}

func (a api) counts(app appCreds, id string) map[string]float64 {
	a.t.Helper()
	code, out, _ := a.do(http.MethodGet, "/v1/pushes/"+id, app.key, app.secret, nil, nil)
	require.Equal(a.t, http.StatusOK, code, "%v", out)
	res := map[string]float64{}
	for k, v := range out["counts"].(map[string]any) {
		res[k] = v.(float64)
	}
	return res
}

// device is a test device running the Go SDK.
type device struct {
	t      testing.TB
	c      *client.Client
	mu     sync.Mutex
	pushes []client.Push
	ready  chan struct{}
	once   sync.Once
	cancel context.CancelFunc
	done   chan error
	state  client.State
}

func newDevice(t testing.TB, base, appKey string, st client.State) *device {
	d := &device{t: t, ready: make(chan struct{}), state: st}
	d.c = client.New(client.Config{
		Server: base, AppKey: appKey,
		OnPush: func(p client.Push) {
			d.mu.Lock()
			d.pushes = append(d.pushes, p)
			d.mu.Unlock()
		},
		OnEvent: func(e client.Event) {
			if e.Kind == client.EventSynced {
				d.once.Do(func() { close(d.ready) })
			}
		},
	}, st)
	return d
}

func (d *device) register(alias string) {
	d.t.Helper()
	require.NoError(d.t, d.c.Register(context.Background(), client.Registration{Platform: "test", Alias: alias}))
}

func (d *device) registerWith(r client.Registration) {
	d.t.Helper()
	require.NoError(d.t, d.c.Register(context.Background(), r))
}

func (d *device) start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan error, 1)
	go func() { d.done <- d.c.Run(ctx) }()
}

func (d *device) waitReady() {
	d.t.Helper()
	select {
	case <-d.ready:
	case <-time.After(20 * time.Second):
		d.t.Fatal("device not ready")
	}
}

func (d *device) stop() client.State {
	d.t.Helper()
	d.cancel()
	require.NoError(d.t, <-d.done)
	return d.c.State()
}

func (d *device) got() []client.Push {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]client.Push(nil), d.pushes...)
}

// gotCount returns how many times the device received push id.
func (d *device) gotCount(id string) int {
	n := 0
	for _, p := range d.got() {
		if p.ID == id {
			n++
		}
	}
	return n
}

func (d *device) id() string { return d.c.State().DeviceID }

func client0() client.State { return client.State{} }

// waitEachGot waits until every device received push id; on a timeout it
// names the device and the seqs it did receive.
func waitEachGot(t *testing.T, ds []*device, id string) {
	t.Helper()
	for _, d := range ds {
		deadline := time.Now().Add(30 * time.Second)
		for d.gotCount(id) == 0 {
			if time.Now().After(deadline) {
				var seqs []uint64
				for _, p := range d.got() {
					seqs = append(seqs, p.Seq)
				}
				st := d.c.State()
				t.Fatalf("push %s not received by %s; it received seqs %v, its position is epoch %d seq %d",
					id, d.id(), seqs, st.Epoch, st.LastSeq)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// requireEachOnce checks that every device received push id exactly once,
// and stops the devices.
func requireEachOnce(t *testing.T, ds []*device, id string) {
	t.Helper()
	for _, d := range ds {
		require.Equal(t, 1, d.gotCount(id), "device %s got the push once", d.id())
		d.stop()
	}
}
