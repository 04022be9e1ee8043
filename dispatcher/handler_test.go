package dispatcher

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func serveDispatch(t *testing.T, src RingSource, fallbacks int, m *Metrics) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(src, fallbacks, nil, m))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, method, query string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+"/v1/dispatch"+query, nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp, body
}

func TestHandlerDispatches(t *testing.T) {
	t.Parallel()
	r := NewRing(testNodes(5), 0)
	for _, tc := range []struct {
		name      string
		fallbacks int
		want      int
	}{{"default", 0, DefaultFallbacks}, {"three", 3, 3}, {"more than nodes", 10, 4}, {"none", -1, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := serveDispatch(t, Static{R: r}, tc.fallbacks, nil)
			resp, err := srv.Client().Get(srv.URL + "/v1/dispatch?device_id=device-42")
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			var got Dispatch
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
			owners := r.Owners("device-42", 1+tc.want)
			want := Dispatch{DeviceID: "device-42", NodeID: owners[0].ID, URL: owners[0].WSURL, Fallbacks: []Fallback{}}
			for _, n := range owners[1:] {
				want.Fallbacks = append(want.Fallbacks, Fallback{NodeID: n.ID, URL: n.WSURL})
			}
			require.Equal(t, want, got)
		})
	}
}

func TestHandlerBodyShape(t *testing.T) {
	t.Parallel()
	srv := serveDispatch(t, Static{R: NewRing(testNodes(1), 0)}, 0, nil)
	_, body := get(t, srv, http.MethodGet, "?device_id="+url.QueryEscape("dév ice/1"))
	require.Equal(t, map[string]any{
		"device_id": "dév ice/1",
		"node_id":   "node-0",
		"url":       "ws://node-0/v1/connect",
		"fallbacks": []any{},
	}, body, "one connector: no fallbacks, and an empty list rather than null")
}

func TestHandlerRefuses(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	require.NoError(t, err)
	full := serveDispatch(t, Static{R: NewRing(testNodes(3), 0)}, 0, m)
	empty := serveDispatch(t, Static{R: NewRing(nil, 0)}, 0, m)
	for _, tc := range []struct {
		name   string
		srv    *httptest.Server
		method string
		query  string
		status int
		slug   string
	}{
		{"missing device_id", full, http.MethodGet, "", http.StatusBadRequest, "bad-request"},
		{"empty device_id", full, http.MethodGet, "?device_id=", http.StatusBadRequest, "bad-request"},
		{"oversized device_id", full, http.MethodGet, "?device_id=" + strings.Repeat("x", MaxDeviceIDLen+1), http.StatusBadRequest, "bad-request"},
		{"empty ring", empty, http.MethodGet, "?device_id=d", http.StatusServiceUnavailable, "no-connectors"},
		{"wrong method", full, http.MethodPost, "?device_id=d", http.StatusMethodNotAllowed, "method-not-allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, tc.srv, tc.method, tc.query)
			require.Equal(t, tc.status, resp.StatusCode)
			require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			require.Equal(t, "https://mopush.dev/problems/"+tc.slug, body["type"])
			require.EqualValues(t, tc.status, body["status"])
			if tc.status == http.StatusServiceUnavailable {
				require.Equal(t, "1", resp.Header.Get("Retry-After"))
			}
			if tc.method == http.MethodGet {
				require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			}
		})
	}
	_, _ = get(t, full, http.MethodGet, "?device_id=ok")
	require.Equal(t, map[string]float64{"ok": 1, "bad-request": 3, "no-connectors": 1, "method-not-allowed": 1},
		counterValues(t, reg, "push_dispatcher_requests_total", "outcome"))
}

func TestHandlerLongestDeviceID(t *testing.T) {
	t.Parallel()
	srv := serveDispatch(t, Static{R: NewRing(testNodes(2), 0)}, 0, nil)
	resp, body := get(t, srv, http.MethodGet, "?device_id="+strings.Repeat("x", MaxDeviceIDLen))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, body["fallbacks"], 1)
}

func TestNewMetricsTwiceOnOneRegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	_, err := NewMetrics(reg)
	require.NoError(t, err)
	_, err = NewMetrics(reg)
	require.Error(t, err)
	m, err := NewMetrics(nil)
	require.NoError(t, err)
	m.observe("ok")
	var none *Metrics
	none.observe("ok")
	none.setRingNodes(1)
}

func counterValues(t *testing.T, g prometheus.Gatherer, name, label string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// With WithDown, nodes known to be down go after the others, each group in
// the ring's order; the answer's url is the first node that is up.
func TestHandlerPutsDownNodesLast(t *testing.T) {
	t.Parallel()
	r := NewRing(testNodes(5), 0)
	owners := r.Owners("device-42", 3)
	down := map[string]bool{owners[0].ID: true}
	srv := httptest.NewServer(Handler(Static{R: r}, 0, nil, nil, WithDown(func(id string) bool { return down[id] })))
	t.Cleanup(srv.Close)
	dispatch := func() Dispatch {
		resp, err := srv.Client().Get(srv.URL + "/v1/dispatch?device_id=device-42")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var got Dispatch
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		return got
	}
	require.Equal(t, Dispatch{DeviceID: "device-42", NodeID: owners[1].ID, URL: owners[1].WSURL, Fallbacks: []Fallback{
		{NodeID: owners[2].ID, URL: owners[2].WSURL}, {NodeID: owners[0].ID, URL: owners[0].WSURL},
	}}, dispatch())

	for _, n := range owners {
		down[n.ID] = true // all down: the ring's order, as without the option
	}
	got := dispatch()
	require.Equal(t, owners[0].ID, got.NodeID)
	require.Equal(t, []Fallback{{NodeID: owners[1].ID, URL: owners[1].WSURL}, {NodeID: owners[2].ID, URL: owners[2].WSURL}}, got.Fallbacks)
}
