package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/apnsfake"
	"github.com/mopush/mopush/relay/vendors"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/client"
)

// relayEnv is a node with the relay pointed at an APNs fake, and an app
// whose APNs credential is uploaded.
type relayEnv struct {
	t    *testing.T
	n    *Node
	a    api
	app  appCreds
	apns *apnsfake.Server
	stop func()
}

func startRelay(t *testing.T, mutate func(*config.Config), fake *apnsfake.Server, dataDir string) *relayEnv {
	t.Helper()
	if fake == nil {
		var err error
		fake, err = apnsfake.New(apnsfake.Config{})
		require.NoError(t, err)
		t.Cleanup(fake.Close)
	}
	env := &vendors.Env{Endpoints: map[string]vendors.Endpoint{"apns": {Base: fake.URL()}}, APNsTLS: fake.TLSConfig()}
	n, stop := startNodeWith(t, Options{RelayEnv: env}, func(c *config.Config) {
		c.Relay.AckTimeout = 300 * time.Millisecond
		if dataDir != "" {
			c.Server.DataDir = dataDir
		}
		if mutate != nil {
			mutate(c)
		}
	})
	return &relayEnv{t: t, n: n, a: api{t: t, base: n.URL()}, apns: fake, stop: stop}
}

// uploadAPNs creates an app with an APNs token credential.
func (e *relayEnv) uploadAPNs() {
	e.t.Helper()
	e.app = e.a.createApp(e.n.AdminToken(), "relay")
	keyID, p8, err := e.apns.IssueAuthKey("TEAM123456")
	require.NoError(e.t, err)
	cred := map[string]string{"topic": "com.example.app", "auth_key": string(p8), "key_id": keyID, "team_id": "TEAM123456"}
	code, body, _ := e.admin(http.MethodPut, "/v1/apps/"+e.app.id+"/credentials/apns", cred)
	require.Equal(e.t, http.StatusNoContent, code, "%v", body)
}

func (e *relayEnv) admin(method, path string, body any) (int, map[string]any, http.Header) {
	return e.a.do(method, path, "", "", body, http.Header{"Authorization": {"Bearer " + e.n.AdminToken()}})
}

func apnsToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newDeviceWithToken registers a device with an APNs token (or none).
func (e *relayEnv) newDevice(token string, onPush func(client.Push)) *device {
	d := newDevice(e.t, e.n.URL(), e.app.key, client0())
	if onPush != nil {
		d.c = client.New(client.Config{Server: e.n.URL(), AppKey: e.app.key, OnPush: onPush,
			OnEvent: func(ev client.Event) {
				if ev.Kind == client.EventSynced {
					d.once.Do(func() { close(d.ready) })
				}
			}}, client0())
	}
	r := client.Registration{Platform: "ios"}
	if token != "" {
		r.Tokens = map[string]string{"apns": token}
	}
	d.registerWith(r)
	return d
}

func (e *relayEnv) waitCounts(id string, want map[string]float64) {
	e.t.Helper()
	waitFor(e.t, 20*time.Second, fmt.Sprintf("counts %v", want), func() bool {
		c := e.a.counts(e.app, id)
		for k, v := range want {
			if c[k] != v {
				return false
			}
		}
		return true
	})
}

func (e *relayEnv) received(token string) []apnsfake.Notification {
	var out []apnsfake.Notification
	for _, n := range e.apns.Received() {
		if n.Token == token {
			out = append(out, n)
		}
	}
	return out
}

// queueEmpty reports whether the relay queue holds no job.
func (e *relayEnv) queueEmpty() bool {
	s, err := e.n.bus.JS.Stream(context.Background(), relayq.Stream)
	if err != nil {
		return false
	}
	info, err := s.Info(context.Background())
	return err == nil && info.State.Msgs == 0
}

func TestRelayOfflineDevice(t *testing.T) {
	e := startRelay(t, nil, nil, "")
	e.uploadAPNs()
	tok := apnsToken()
	d := e.newDevice(tok, nil)
	id := e.a.push(e.app, map[string]any{"audience": toDevices(d.id()), "notification": notification("away", "from the phone")})
	e.waitCounts(id, map[string]float64{"relayed": 1, "offline": 1})
	got := e.received(tok)
	require.Len(t, got, 1)
	title, body := got[0].Alert()
	require.Equal(t, "away", title)
	require.Equal(t, "from the phone", body)
	require.Equal(t, "com.example.app", got[0].Topic)
	require.Equal(t, id, got[0].Payload["mopush_push_id"])
	require.NotZero(t, got[0].Expiration, "the TTL left is handed to the vendor")
}

func TestRelaySilentDeviceThenLateAck(t *testing.T) {
	e := startRelay(t, nil, nil, "")
	e.uploadAPNs()
	tok := apnsToken()
	release := make(chan struct{})
	d := e.newDevice(tok, func(client.Push) { <-release }) // holds the ack back
	d.start()
	d.waitReady()
	id := e.a.push(e.app, map[string]any{"audience": toDevices(d.id()), "notification": notification("slow", "ack")})
	e.waitCounts(id, map[string]float64{"delivered": 1, "relayed": 1})
	require.Len(t, e.received(tok), 1)

	close(release) // the ack arrives after the relay took over
	e.waitCounts(id, map[string]float64{"acked": 1, "relayed": 0})
	d.stop()
}

func TestRelayNotUsedWhenAckedInTime(t *testing.T) {
	e := startRelay(t, nil, nil, "")
	e.uploadAPNs()
	tok := apnsToken()
	d := e.newDevice(tok, nil)
	d.start()
	d.waitReady()
	id := e.a.push(e.app, map[string]any{"audience": toDevices(d.id()), "notification": notification("fast", "ack")})
	e.waitCounts(id, map[string]float64{"acked": 1})
	waitFor(t, 20*time.Second, "fallback check done", e.queueEmpty)
	c := e.a.counts(e.app, id)
	require.Zero(t, c["relayed"])
	require.Empty(t, e.received(tok), "never relayed")
	d.stop()
}

func TestRelayDeadTokenAndNoChannel(t *testing.T) {
	e := startRelay(t, nil, nil, "")
	e.uploadAPNs()
	dead := apnsToken()
	e.apns.FailToken(dead, vendorfake.Fault{Status: http.StatusGone, Reason: "Unregistered"})
	d := e.newDevice(dead, nil)
	quiet := e.newDevice("", nil)
	id := e.a.push(e.app, map[string]any{"audience": toDevices(d.id(), quiet.id()), "notification": notification("x", "y")})
	e.waitCounts(id, map[string]float64{"relay_failed": 1, "dead_tokens": 1, "no_channel": 1})
	devs, err := e.n.store.Devices(context.Background(), []string{d.id()})
	require.NoError(t, err)
	require.Empty(t, devs[0].Tokens["apns"], "dead token removed")
}

func TestRelayExpiresWhileVendorUnavailable(t *testing.T) {
	e := startRelay(t, nil, nil, "")
	e.uploadAPNs()
	tok := apnsToken()
	e.apns.FailToken(tok, vendorfake.Fault{Status: http.StatusServiceUnavailable, Reason: "ServiceUnavailable"})
	d := e.newDevice(tok, nil)
	id := e.a.push(e.app, map[string]any{"audience": toDevices(d.id()), "notification": notification("x", "y"),
		"options": map[string]any{"ttl_seconds": 1}})
	e.waitCounts(id, map[string]float64{"expired": 1})
	require.Empty(t, e.received(tok))
}

func TestRelayRestartMidQueue(t *testing.T) {
	fake, err := apnsfake.New(apnsfake.Config{})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	slow := func(c *config.Config) { c.Relay.Workers, c.Relay.PerCredential = 1, 1 }
	e := startRelay(t, slow, fake, dir)
	e.uploadAPNs()
	const devices = 120
	tokens := map[string]bool{}
	ids := make([]string, devices)
	for i := range ids {
		tok := apnsToken()
		tokens[tok] = true
		ids[i] = e.newDevice(tok, nil).id()
	}
	id := e.a.push(e.app, map[string]any{"audience": toDevices(ids...), "notification": notification("many", "devices")})
	waitFor(t, 20*time.Second, "some sent", func() bool { return fake.Count() >= 10 })
	e.stop() // the relay stops mid-queue
	require.Less(t, fake.Count(), devices, "stopped before the queue drained")

	e2 := startRelay(t, nil, fake, dir)
	e2.app = e.app
	// Jobs that were on their way to the stopped relay come back after
	// the queue's ack wait.
	waitFor(t, 60*time.Second, "all relayed", func() bool { return e2.a.counts(e2.app, id)["relayed"] == devices })
	seen := map[string]int{}
	for _, n := range fake.Received() {
		seen[n.Token]++
	}
	require.Len(t, seen, devices)
	for tok, n := range seen {
		require.True(t, tokens[tok])
		require.Equal(t, 1, n, "sent exactly once")
	}
}

func TestRelayPayloadModes(t *testing.T) {
	e := startRelay(t, nil, nil, "")
	e.uploadAPNs()
	for _, mode := range []string{"encrypted", "wakeup"} {
		t.Run(mode, func(t *testing.T) {
			code, body, _ := e.admin(http.MethodPut, "/v1/apps/"+e.app.id+"/settings", map[string]any{"payload_mode": mode})
			require.Equal(t, http.StatusOK, code, "%v", body)
			tok := apnsToken()
			d := e.newDevice(tok, nil)
			id := e.a.push(e.app, map[string]any{"audience": toDevices(d.id()),
				"notification": map[string]any{"title": "secret title", "body": "secret body", "data": map[string]string{"k": "v"}}})
			e.waitCounts(id, map[string]float64{"relayed": 1})
			got := e.received(tok)
			require.Len(t, got, 1)
			n := got[0]
			title, body2 := n.Alert()
			require.Empty(t, title, "no clear text in the vendor payload")
			require.Empty(t, body2)
			require.Equal(t, "background", n.PushType)
			require.Equal(t, id, n.Payload["mopush_push_id"])
			raw, _ := json.Marshal(n.Payload)
			require.NotContains(t, string(raw), "secret title")
			if mode == "wakeup" {
				require.Nil(t, n.Payload["mopush_sealed"])
				return
			}
			sealed, _ := n.Payload["mopush_sealed"].(string)
			plain, err := sdkproto.OpenVendorPayload(d.c.State().Secret, sealed)
			require.NoError(t, err, "the device opens it with its own secret")
			var inner map[string]any
			require.NoError(t, json.Unmarshal(plain, &inner))
			require.Equal(t, "secret title", inner["title"])
			require.Equal(t, "secret body", inner["body"])
			require.Equal(t, id, inner["push_id"])
		})
	}
}

func TestCredentialsAPI(t *testing.T) {
	e := startRelay(t, nil, nil, "")
	e.uploadAPNs()
	base := "/v1/apps/" + e.app.id + "/credentials"

	code, body, _ := e.admin(http.MethodGet, base, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []any{"apns"}, body["vendors"], "vendors only, never the secret")

	code, body, _ = e.admin(http.MethodPut, base+"/fcm", map[string]any{"service_account": "not json", "extra": 1})
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Equal(t, "https://mopush.dev/problems/invalid-credential", body["type"])
	code, body, _ = e.admin(http.MethodPut, base+"/pigeon", map[string]any{})
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", body)

	code, _, _ = e.a.do(http.MethodGet, base, "", "", nil, nil)
	require.Equal(t, http.StatusUnauthorized, code, "admin only")

	code, _, _ = e.admin(http.MethodDelete, base+"/apns", nil)
	require.Equal(t, http.StatusNoContent, code)
	code, body, _ = e.admin(http.MethodGet, base, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []any{}, body["vendors"])

	key, err := os.ReadFile(filepath.Join(e.n.cfg.Server.DataDir, "credentials.key"))
	require.NoError(t, err)
	require.NotEmpty(t, key, "the sealing key was generated at first start")
	code, body, _ = e.admin(http.MethodPut, "/v1/apps/"+e.app.id+"/settings", map[string]any{"payload_mode": "loud"})
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", body)
}
