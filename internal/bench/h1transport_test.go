package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// transportServer counts the connections it accepted and the requests it
// answered.
type transportServer struct {
	*httptest.Server
	conns atomic.Int32
}

func newTransportServer(t *testing.T, h http.HandlerFunc) *transportServer {
	s := &transportServer{}
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func transportClient(maxConns int) (*http.Client, *h1Transport) {
	var d net.Dialer
	tr := newH1Transport(d.DialContext, maxConns, maxConns)
	return &http.Client{Transport: tr}, tr
}

func TestH1TransportRoundTrips(t *testing.T) {
	s := newTransportServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Link", `</next>; rel="next"`)
		if r.URL.Query().Get("fail") != "" {
			http.Error(w, "no such device", http.StatusNotFound)
			return
		}
		w.Header().Set("X-Got", r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Content-Type")+" "+r.Host)
		w.Write(body) //nolint:errcheck // the client checks it
	})
	hc, _ := transportClient(4)

	req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/devices?app=a", strings.NewReader(`{"x":1}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, `{"x":1}`, string(body))
	require.Equal(t, "POST /v1/devices?app=a application/json "+strings.TrimPrefix(s.URL, "http://"), resp.Header.Get("X-Got"))
	require.Equal(t, `</next>; rel="next"`, resp.Header.Get("Link"))

	resp, err = hc.Get(s.URL + "/v1/dispatch?fail=1")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "no such device\n", string(body))
	require.Equal(t, "404 Not Found", resp.Status)

	for range 5 {
		resp, err = hc.Get(s.URL + "/v1/dispatch")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.EqualValues(t, 1, s.conns.Load(), "one kept connection for requests one at a time")
}

// A GET on a kept connection that the server closed meanwhile goes out
// again on a new one; a POST is not sent twice.
func TestH1TransportServerClosedAKeptConnection(t *testing.T) {
	s := newTransportServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok") //nolint:errcheck // the client checks it
	})
	hc, _ := transportClient(4)
	resp, err := hc.Get(s.URL)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	s.CloseClientConnections()
	resp, err = hc.Get(s.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, "ok", string(body))
	require.EqualValues(t, 2, s.conns.Load())

	s.CloseClientConnections()
	_, err = hc.Post(s.URL, "application/json", strings.NewReader("{}"))
	require.Error(t, err)
	require.EqualValues(t, 2, s.conns.Load(), "the POST was not sent again")
}

// A context that ends without a deadline ends the request under way, and
// its connection is not kept.
func TestH1TransportCancel(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	s := newTransportServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		io.WriteString(w, "ok") //nolint:errcheck // the client checks it
	})
	defer close(release)
	hc, _ := transportClient(4)
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/slow", nil)
	require.NoError(t, err)
	go func() {
		<-arrived
		cancel()
	}()
	_, err = hc.Do(req)
	require.Error(t, err)

	resp, err := hc.Get(s.URL + "/fast")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 2, s.conns.Load(), "the cancelled connection was not lent again")
}

// Requests beyond maxConns wait for a connection instead of opening one.
func TestH1TransportBoundsConnections(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	s := newTransportServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		io.WriteString(w, "ok") //nolint:errcheck // the client checks it
		mu.Lock()
		inFlight--
		mu.Unlock()
	})
	hc, _ := transportClient(2)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 10 {
				resp, err := hc.Get(s.URL)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	require.LessOrEqual(t, s.conns.Load(), int32(2))
	require.LessOrEqual(t, most, 2)
}

func TestEncodeRequestRefuses(t *testing.T) {
	for _, tc := range []struct {
		method, url string
		hdr         string
	}{
		{http.MethodGet, "https://127.0.0.1:1/", ""},
		{http.MethodHead, "http://127.0.0.1:1/", ""},
		{http.MethodGet, "http://127.0.0.1:1/", "a\r\nInjected: 1"},
	} {
		req, err := http.NewRequest(tc.method, tc.url, nil)
		require.NoError(t, err)
		if tc.hdr != "" {
			req.Header["X-Bad"] = []string{tc.hdr}
		}
		_, _, err = encodeRequest(req)
		require.ErrorIs(t, err, errUnsupportedRequest, tc)
	}
	req, err := http.NewRequest(http.MethodGet, "http://localhost/x?y=1", nil)
	require.NoError(t, err)
	msg, host, err := encodeRequest(req)
	require.NoError(t, err)
	require.Equal(t, "localhost:80", host)
	require.Equal(t, "GET /x?y=1 HTTP/1.1\r\nHost: localhost\r\n\r\n", string(msg))
}
