package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/dispatcher"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
	"github.com/mopush/mopush/internal/store/storetest"
	"github.com/mopush/mopush/sdkproto"
)

// The registration answer names the connector that owns the new device on
// the ring, the one the dispatcher would name, so that the device's first
// connect needs no dispatch request; without a connector on the ring it
// names none.
func TestRegisterNamesTheOwningConnector(t *testing.T) {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.CreateApp(t.Context(), &store.App{ID: "a1", Name: "one", Key: "k1", CreatedAt: time.Now().UTC()}))
	ring := dispatcher.NewRing([]dispatcher.Node{
		{ID: "c1", WSURL: "ws://c1.example/v1/connect", Weight: 1},
		{ID: "c2", WSURL: "ws://c2.example/v1/connect", Weight: 1},
		{ID: "c3", WSURL: "ws://c3.example/v1/connect", Weight: 1},
	}, 0)
	register := func(src dispatcher.RingSource) map[string]string {
		t.Helper()
		g := New(Config{}, st, src, nil, nil, nil)
		mux := http.NewServeMux()
		g.Register(mux)
		req := httptest.NewRequest(http.MethodPost, "/v1/devices", strings.NewReader(`{"app_key":"k1","platform":"ios"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		var out map[string]string
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
		return out
	}

	seen := map[string]bool{}
	for range 12 {
		out := register(dispatcher.Static{R: ring})
		owner, ok := ring.Owner(out["device_id"])
		require.True(t, ok)
		require.Equal(t, owner.WSURL, out["connector_url"])
		seen[owner.ID] = true
	}
	require.Greater(t, len(seen), 1, "devices spread over the ring")

	out := register(dispatcher.Static{R: dispatcher.NewRing(nil, 0)})
	require.NotEmpty(t, out["device_id"])
	_, named := out["connector_url"]
	require.False(t, named, "no connector on the ring")
}

// updateHarness serves the gateway on the embedded store with two apps and
// one device of the first, registered through the API.
type updateHarness struct {
	t      *testing.T
	g      *Gateway
	st     *pebblestore.Store
	mux    *http.ServeMux
	id     string
	secret []byte
}

func newUpdateHarness(t *testing.T) *updateHarness { return newDeviceHarness(t, nil, nil) }

// newDeviceHarness is newUpdateHarness with connectors: ring and deliver
// may be nil.
func newDeviceHarness(t *testing.T, ring dispatcher.RingSource, deliver Deliverer) *updateHarness {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	for _, a := range []struct{ id, key, secret string }{{"a1", "k1", "s1"}, {"a2", "k2", "s2"}} {
		sum := sha256.Sum256([]byte(a.secret))
		require.NoError(t, st.CreateApp(t.Context(), &store.App{ID: a.id, Name: a.id, Key: a.key, SecretHash: sum[:], CreatedAt: time.Now().UTC()}))
	}
	g := New(Config{}, st, ring, deliver, nil, nil)
	h := &updateHarness{t: t, g: g, st: st, mux: http.NewServeMux()}
	g.Register(h.mux)
	w := h.serve(httptest.NewRequest(http.MethodPost, "/v1/devices", strings.NewReader(
		`{"app_key":"k1","platform":"android","alias":"alice","tags":["beta"],"tokens":{"fcm":"f1","hms":"h1"}}`)))
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var out deviceResponse
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
	h.id = out.DeviceID
	h.secret, err = base64.RawURLEncoding.DecodeString(out.DeviceSecret)
	require.NoError(t, err)
	return h
}

func (h *updateHarness) serve(r *http.Request) *httptest.ResponseRecorder {
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.mux.ServeHTTP(w, r)
	return w
}

// signed sends body as an update signed by the device.
func (h *updateHarness) signed(body string) *httptest.ResponseRecorder {
	return h.signedAs(http.MethodPatch, body)
}

// signedAs sends a request about the device signed by it.
func (h *updateHarness) signedAs(method, body string) *httptest.ResponseRecorder {
	target := "/v1/devices/" + h.id
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Authorization", sdkproto.HTTPAuthHeader(h.secret, method, target, time.Now().Unix()))
	return h.serve(r)
}

// basic sends body as an update with an app's credentials.
func (h *updateHarness) basic(key, secret, body string) *httptest.ResponseRecorder {
	return h.basicAs(http.MethodPatch, key, secret, body)
}

// basicAs sends a request about the device with an app's credentials.
func (h *updateHarness) basicAs(method, key, secret, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/v1/devices/"+h.id, strings.NewReader(body))
	r.SetBasicAuth(key, secret)
	return h.serve(r)
}

func (h *updateHarness) device() *store.Device {
	devs, err := h.st.Devices(h.t.Context(), []string{h.id})
	require.NoError(h.t, err)
	require.NotNil(h.t, devs[0])
	return devs[0]
}

func (h *updateHarness) byAlias(alias string) []string {
	ids, err := h.st.DeviceIDsByAlias(h.t.Context(), "a1", []string{alias})
	require.NoError(h.t, err)
	return ids
}

// An update changes the fields it names and leaves the others; the alias
// index follows the alias, a token "" removes its vendor's, and the answer
// shows the device as stored.
func TestUpdateDevice(t *testing.T) {
	h := newUpdateHarness(t)
	w := h.signed(`{"alias":"bob","tokens":{"fcm":"f2","hms":"","apns":"a1"}}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var view deviceView
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &view))
	require.Equal(t, h.id, view.DeviceID)
	require.Equal(t, "bob", view.Alias)
	require.Equal(t, []string{"beta"}, view.Tags, "tags not named stay")
	require.Equal(t, []string{"apns", "fcm"}, view.Vendors)
	require.NotContains(t, w.Body.String(), "f2", "token values are not shown")

	d := h.device()
	require.Equal(t, "bob", d.Alias)
	require.Equal(t, map[string]string{"fcm": "f2", "apns": "a1"}, d.Tokens)
	require.Equal(t, "android", d.Platform)
	require.Equal(t, []string{"beta"}, d.Tags)
	require.Empty(t, h.byAlias("alice"), "the old alias no longer names the device")
	require.Equal(t, []string{h.id}, h.byAlias("bob"))

	// The app's backend may update its devices too.
	w = h.basic("k1", "s1", `{"alias":"","tags":[],"locale":"de-DE","time_zone":"Europe/Berlin"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	d = h.device()
	require.Empty(t, d.Alias)
	require.Empty(t, d.Tags)
	require.Equal(t, "de-DE", d.Locale)
	require.Equal(t, "Europe/Berlin", d.TimeZone)
	require.Equal(t, map[string]string{"fcm": "f2", "apns": "a1"}, d.Tokens, "tokens not named stay")
	require.Empty(t, h.byAlias("bob"))

	// Nothing to change is no error, and changes nothing.
	w = h.signed(`{}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, d, h.device())
}

// A refused update is a typed problem and leaves the device as it was.
func TestUpdateDeviceRefusals(t *testing.T) {
	h := newUpdateHarness(t)
	before := h.device()
	for _, tc := range []struct {
		name   string
		send   func() *httptest.ResponseRecorder
		status int
		slug   string
	}{
		{"another app's device", func() *httptest.ResponseRecorder { return h.basic("k2", "s2", `{"alias":"x"}`) }, http.StatusNotFound, "not-found"},
		{"wrong master secret", func() *httptest.ResponseRecorder { return h.basic("k1", "nope", `{"alias":"x"}`) }, http.StatusUnauthorized, "unauthorized"},
		{"no credentials", func() *httptest.ResponseRecorder {
			return h.serve(httptest.NewRequest(http.MethodPatch, "/v1/devices/"+h.id, strings.NewReader(`{"alias":"x"}`)))
		}, http.StatusUnauthorized, "unauthorized"},
		{"signature of another device", func() *httptest.ResponseRecorder {
			target := "/v1/devices/" + h.id
			r := httptest.NewRequest(http.MethodPatch, target, strings.NewReader(`{"alias":"x"}`))
			r.Header.Set("Authorization", sdkproto.HTTPAuthHeader([]byte("0123456789abcdef0123456789abcdef"), http.MethodPatch, target, time.Now().Unix()))
			return h.serve(r)
		}, http.StatusUnauthorized, "unauthorized"},
		{"platform is fixed", func() *httptest.ResponseRecorder { return h.signed(`{"platform":"ios"}`) }, http.StatusBadRequest, "unknown-field"},
		{"malformed", func() *httptest.ResponseRecorder { return h.signed(`{"alias":`) }, http.StatusBadRequest, "bad-json"},
		{"too many tags", func() *httptest.ResponseRecorder {
			return h.signed(`{"tags":[` + strings.TrimSuffix(strings.Repeat(`"t",`, maxTags+1), ",") + `]}`)
		}, http.StatusUnprocessableEntity, "invalid-device"},
		{"empty tag", func() *httptest.ResponseRecorder { return h.signed(`{"tags":[""]}`) }, http.StatusUnprocessableEntity, "invalid-device"},
		{"alias too long", func() *httptest.ResponseRecorder {
			return h.signed(`{"alias":"` + strings.Repeat("a", maxAliasLen+1) + `"}`)
		}, http.StatusUnprocessableEntity, "invalid-device"},
		{"token without a vendor", func() *httptest.ResponseRecorder { return h.signed(`{"tokens":{"":"t"}}`) }, http.StatusUnprocessableEntity, "invalid-device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, tc.send(), tc.status, tc.slug)
			require.Equal(t, before, h.device())
		})
	}
}

// disconnects records what the connectors were told of deleted devices.
type disconnects struct {
	appending
	mu    sync.Mutex
	calls map[string][]string // node id → device ids
}

func (d *disconnects) Disconnect(_ context.Context, n dispatcher.Node, x route.Disconnect) (route.DisconnectResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[n.ID] = append(d.calls[n.ID], x.DeviceIDs...)
	return route.DisconnectResult{Closed: 1}, nil
}

// The device and its app's backend can read a registration; another app
// cannot see it.
func TestGetDevice(t *testing.T) {
	h := newUpdateHarness(t)
	for _, w := range []*httptest.ResponseRecorder{h.signedAs(http.MethodGet, ""), h.basicAs(http.MethodGet, "k1", "s1", "")} {
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var view deviceView
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &view))
		require.Equal(t, deviceView{DeviceID: h.id, AppID: "a1", Platform: "android", Alias: "alice",
			Tags: []string{"beta"}, Vendors: []string{"fcm", "hms"}, CreatedAt: h.device().CreatedAt}, view)
	}
	requireProblem(t, h.basicAs(http.MethodGet, "k2", "s2", ""), http.StatusNotFound, "not-found")
	requireProblem(t, h.basicAs(http.MethodGet, "k1", "wrong", ""), http.StatusUnauthorized, "unauthorized")
	requireProblem(t, h.serve(httptest.NewRequest(http.MethodGet, "/v1/devices/"+h.id, nil)), http.StatusUnauthorized, "unauthorized")
}

// A deleted device is gone from the store and the alias index, every
// connector is told to end its session, pushes can no longer name it, and
// neither its signature nor its app finds it again. Another app cannot
// delete it.
func TestDeleteDevice(t *testing.T) {
	for _, by := range []string{"device", "app"} {
		t.Run(by, func(t *testing.T) {
			rec := &disconnects{calls: map[string][]string{}}
			h := newDeviceHarness(t, testRing(), rec)
			check := httptest.NewRequest(http.MethodPost, "/v1/pushes", nil)
			_, err := h.g.checkDevices(check, "a1", []string{h.id})
			require.NoError(t, err, "the gateway now knows the device's app")
			_, err = h.st.Append(t.Context(), []store.Entry{{DeviceID: h.id, Message: store.Message{PushID: "p1", Title: "personal"}}})
			require.NoError(t, err)

			requireProblem(t, h.basicAs(http.MethodDelete, "k2", "s2", ""), http.StatusNotFound, "not-found")
			requireProblem(t, h.basicAs(http.MethodDelete, "k1", "wrong", ""), http.StatusUnauthorized, "unauthorized")
			h.device()
			require.Empty(t, rec.calls, "a refused delete tells no connector")

			var w *httptest.ResponseRecorder
			if by == "device" {
				w = h.signedAs(http.MethodDelete, "")
			} else {
				w = h.basicAs(http.MethodDelete, "k1", "s1", "")
			}
			require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
			require.Empty(t, w.Body.String())

			devs, err := h.st.Devices(t.Context(), []string{h.id})
			require.NoError(t, err)
			require.Nil(t, devs[0])
			require.Empty(t, h.byAlias("alice"))
			page, err := h.st.ReadStream(t.Context(), h.id, 0, 0, 10)
			require.NoError(t, err)
			require.Empty(t, page.Messages, "the messages sent to the device went with it")
			require.Zero(t, page.Head)
			require.Equal(t, map[string][]string{"a": {h.id}, "b": {h.id}, "c": {h.id}}, rec.calls)

			_, err = h.g.checkDevices(check, "a1", []string{h.id})
			require.Equal(t, []string{h.id}, problemIDs(t, err, "unknown-device"))
			requireProblem(t, h.signedAs(http.MethodGet, ""), http.StatusUnauthorized, "unauthorized")
			requireProblem(t, h.signedAs(http.MethodDelete, ""), http.StatusUnauthorized, "unauthorized")
			requireProblem(t, h.basicAs(http.MethodGet, "k1", "s1", ""), http.StatusNotFound, "not-found")
			requireProblem(t, h.basicAs(http.MethodDelete, "k1", "s1", ""), http.StatusNotFound, "not-found")
			requireProblem(t, h.signed(`{"alias":"back"}`), http.StatusUnauthorized, "unauthorized")
		})
	}
}

// staleReads is a store whose Devices answers from a snapshot taken
// earlier: the gateway then authenticates with a version of the device
// that another writer has changed (or deleted) since.
type staleReads struct {
	*pebblestore.Store
	snapshot storetest.Snapshot
}

func (s staleReads) Devices(_ context.Context, ids []string) ([]*store.Device, error) {
	return s.snapshot.Devices(ids), nil
}

// An update is applied to the device as stored when it is written, not
// to the version read when the request came in: a change another writer
// made in between stays, and a device deleted in between is not written
// back.
func TestUpdateKeepsWhatWasWrittenMeanwhile(t *testing.T) {
	h := newUpdateHarness(t)
	stale := staleReads{Store: h.st, snapshot: storetest.Snapshot{h.id: h.device()}}
	g := New(Config{}, stale, nil, nil, nil, nil)
	mux := http.NewServeMux()
	g.Register(mux)
	h.mux = mux

	_, err := h.st.UpdateDevice(t.Context(), h.id, func(d *store.Device) bool {
		d.Tokens["apns"] = "a9"
		d.Locale = "fr-FR"
		return true
	})
	require.NoError(t, err)
	w := h.signed(`{"alias":"bob","tokens":{"hms":""}}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	d := h.device()
	require.Equal(t, "bob", d.Alias)
	require.Equal(t, map[string]string{"fcm": "f1", "apns": "a9"}, d.Tokens, "the token written meanwhile stays")
	require.Equal(t, "fr-FR", d.Locale)

	require.NoError(t, h.st.DeleteDevice(t.Context(), h.id))
	requireProblem(t, h.signed(`{"alias":"carol"}`), http.StatusNotFound, "not-found")
	devs, err := h.st.Devices(t.Context(), []string{h.id})
	require.NoError(t, err)
	require.Nil(t, devs[0], "the deleted device was not written back")
	require.Empty(t, h.byAlias("carol"))
}

// An app's backend finds the devices of an alias, its own only, sorted by
// id; a device that left the alias or was deleted is not listed.
func TestListDevicesByAlias(t *testing.T) {
	h := newUpdateHarness(t)
	register := func(key, alias string) string {
		w := h.serve(httptest.NewRequest(http.MethodPost, "/v1/devices", strings.NewReader(
			`{"app_key":"`+key+`","platform":"ios","alias":"`+alias+`"}`)))
		require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
		var out deviceResponse
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		return out.DeviceID
	}
	second, third := register("k1", "alice"), register("k1", "alice")
	register("k2", "alice")
	register("k1", "bob")
	list := func(key, secret, query string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/v1/devices"+query, nil)
		r.SetBasicAuth(key, secret)
		return h.serve(r)
	}
	ids := func(w *httptest.ResponseRecorder) []string {
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var out deviceList
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		require.False(t, out.More)
		var got []string
		for _, v := range out.Devices {
			require.Equal(t, "alice", v.Alias)
			require.Equal(t, "a1", v.AppID)
			got = append(got, v.DeviceID)
		}
		return got
	}
	want := []string{h.id, second, third}
	slices.Sort(want)
	require.Equal(t, want, ids(list("k1", "s1", "?alias=alice")))

	_, err := h.st.UpdateDevice(t.Context(), second, func(d *store.Device) bool { d.Alias = "carol"; return true })
	require.NoError(t, err)
	require.NoError(t, h.st.DeleteDevice(t.Context(), third))
	require.Equal(t, []string{h.id}, ids(list("k1", "s1", "?alias=alice")))
	w := list("k1", "s1", "?alias=nobody")
	require.Equal(t, http.StatusOK, w.Code)
	require.JSONEq(t, `{"devices":[],"more":false}`, w.Body.String())

	requireProblem(t, list("k1", "wrong", "?alias=alice"), http.StatusUnauthorized, "unauthorized")
	for _, q := range []string{"", "?alias=", "?alias=a&alias=b", "?alias=a&limit=3", "?alias=" + strings.Repeat("x", maxAliasLen+1)} {
		requireProblem(t, list("k1", "s1", q), http.StatusBadRequest, "bad-query")
	}
}
