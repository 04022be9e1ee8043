package client

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/sdkproto/pb"
)

// fakeNode is a dispatcher and a connector on one server. The connector
// welcomes the device and closes, after a Redirect frame if redirect is set;
// with misdirect set it refuses an upgrade that names the device (421).
type fakeNode struct {
	mu         sync.Mutex
	dispatches int
	connects   []string // the query of each upgrade request
	misdirect  bool
	redirect   bool
}

func (n *fakeNode) start(t *testing.T, secret []byte) string {
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	connect := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/connect"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/dispatch", func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		n.dispatches++
		n.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"url":"` + connect + `","fallbacks":[]}`))
	})
	mux.HandleFunc("POST /v1/devices", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"device_id":"dev-1","device_secret":"` + base64.RawURLEncoding.EncodeToString(secret) +
			`","app_id":"a1","connector_url":"` + connect + `"}`))
	})
	mux.HandleFunc("GET /v1/connect", func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		n.connects = append(n.connects, r.URL.RawQuery)
		misdirect, redirect := n.misdirect, n.redirect
		n.mu.Unlock()
		if misdirect && r.URL.Query().Has("device_id") {
			http.Error(w, "not owned here", http.StatusMisdirectedRequest)
			return
		}
		_, ws, codec := serveHandshake(t, w, r, secret, true)
		if ws == nil {
			return
		}
		defer ws.Close()
		if redirect {
			b, err := codec.Seal(nil, &pb.Frame{Body: &pb.Frame_Redirect{Redirect: &pb.Redirect{}}})
			require.NoError(t, err)
			ws.WriteMessage(websocket.BinaryMessage, b) //nolint:errcheck // the client's session shows it
		}
		ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")) //nolint:errcheck // as above
	})
	srv.Config.Handler = mux
	return srv.URL
}

func (n *fakeNode) set(f func(n *fakeNode)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f(n)
}

func (n *fakeNode) counts() (dispatches int, connects []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dispatches, append([]string(nil), n.connects...)
}

// After a welcomed session drops, the next one dials the same connector
// without asking the dispatcher, naming the device in the query. A refusal
// sends it to the dispatcher at once; so does a session that ended with a
// Redirect.
func TestSessionReconnectsToItsLastConnector(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	n := &fakeNode{}
	base := n.start(t, secret)
	c := New(Config{Server: base, HTTP: &http.Client{}}, State{DeviceID: "dev-1", Secret: secret})
	ctx := context.Background()
	session := func() *pb.Redirect {
		t.Helper()
		welcomed, redirect, _ := c.session(ctx, nil)
		require.True(t, welcomed)
		return redirect
	}

	session()
	d, q := n.counts()
	require.Equal(t, 1, d)
	require.Equal(t, []string{""}, q, "a dispatched connect does not name the device")

	session()
	d, q = n.counts()
	require.Equal(t, 1, d, "the reconnect did not ask the dispatcher")
	require.Equal(t, "device_id=dev-1", q[1])
	require.Equal(t, "ws"+strings.TrimPrefix(base, "http")+"/v1/connect", c.State().Connector, "the connector is remembered without the query")

	n.set(func(n *fakeNode) { n.misdirect = true })
	session()
	d, q = n.counts()
	require.Equal(t, 2, d, "the refused reconnect asked the dispatcher")
	require.Equal(t, []string{"", "device_id=dev-1", "device_id=dev-1", ""}, q)

	n.set(func(n *fakeNode) { n.misdirect, n.redirect = false, true })
	require.NotNil(t, session(), "the connector redirected the device")
	n.set(func(n *fakeNode) { n.redirect = false })
	session()
	d, q = n.counts()
	require.Equal(t, 3, d, "after a Redirect the device asks the dispatcher")
	require.Equal(t, []string{"", "device_id=dev-1", "device_id=dev-1", "", "device_id=dev-1", ""}, q)
}

// The connector is part of the persisted State: a process that starts
// again from it dials that connector without asking the dispatcher, and a
// session that was moved persists that there is none.
func TestConnectorPersistsAcrossProcesses(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	n := &fakeNode{}
	base := n.start(t, secret)
	connector := "ws" + strings.TrimPrefix(base, "http") + "/v1/connect"
	var saved []State
	onState := func(st State) { saved = append(saved, st) }
	first := New(Config{Server: base, HTTP: &http.Client{}, OnState: onState}, State{DeviceID: "dev-1", Secret: secret})
	welcomed, _, _ := first.session(t.Context(), nil)
	require.True(t, welcomed)
	require.Len(t, saved, 1, "the welcome persisted the connector")
	require.Equal(t, connector, saved[0].Connector)

	again := New(Config{Server: base, HTTP: &http.Client{}, OnState: onState}, saved[0])
	n.set(func(n *fakeNode) { n.redirect = true })
	welcomed, redirect, _ := again.session(t.Context(), nil)
	require.True(t, welcomed)
	require.NotNil(t, redirect)
	d, q := n.counts()
	require.Equal(t, 1, d, "the process that started again did not ask the dispatcher")
	require.Equal(t, []string{"", "device_id=dev-1"}, q)
	require.Len(t, saved, 2, "the move persisted")
	require.Empty(t, saved[1].Connector)
}

// A registration answer that names the device's connector makes the first
// connect a dial of that connector, naming the device, without a dispatch
// request.
func TestFirstConnectAfterRegisterSkipsTheDispatcher(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	n := &fakeNode{}
	base := n.start(t, secret)
	var saved []State
	c := New(Config{Server: base, HTTP: &http.Client{}, OnState: func(st State) { saved = append(saved, st) }}, State{})
	require.NoError(t, c.Register(t.Context(), Registration{Platform: "ios"}))
	require.Len(t, saved, 1)
	require.Equal(t, "ws"+strings.TrimPrefix(base, "http")+"/v1/connect", saved[0].Connector, "persisted with the registration")

	welcomed, _, _ := c.session(t.Context(), nil)
	require.True(t, welcomed)
	d, q := n.counts()
	require.Equal(t, 0, d, "no dispatch request")
	require.Equal(t, []string{"device_id=dev-1"}, q)
}

func TestOwnerOnlyQuery(t *testing.T) {
	for in, want := range map[string]string{
		"ws://c1:8080/v1/connect":        "ws://c1:8080/v1/connect?device_id=d+1%2F",
		"wss://c1/v1/connect?x=1":        "wss://c1/v1/connect?device_id=d+1%2F&x=1",
		"ws://c1/v1/connect?device_id=o": "ws://c1/v1/connect?device_id=d+1%2F",
	} {
		require.Equal(t, want, ownerOnly(in, "d 1/"))
	}
}
