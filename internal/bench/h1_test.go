package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pushServer is a net/http server that records push requests and answers
// them as told.
type pushServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	bodies  [][]byte
	auths   []string
	conns   atomic.Int32
	answer  func(w http.ResponseWriter)
	reqSeen atomic.Int32
}

func newPushServer(t *testing.T, answer func(w http.ResponseWriter)) *pushServer {
	s := &pushServer{answer: answer}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.reqSeen.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/pushes" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request line", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.mu.Unlock()
		s.answer(w)
	}))
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	w.Write([]byte(`{"push_id":"p1"}`))
}

// The pusher sends what api.push sends, over one kept connection.
func TestH1PusherSendsPushes(t *testing.T) {
	s := newPushServer(t, accepted)
	p, err := newH1Pusher(s.srv.URL, "key", "secret")
	require.NoError(t, err)
	defer p.close()
	before := time.Now().UnixNano()
	for _, id := range []string{"dev-1", "dev-2", "dev-3"} {
		require.NoError(t, p.push(t.Context(), id))
	}
	require.EqualValues(t, 1, s.conns.Load(), "one connection, kept")
	require.Len(t, s.bodies, 3)

	req, err := http.NewRequest(http.MethodPost, "/", nil)
	require.NoError(t, err)
	req.SetBasicAuth("key", "secret")
	for i, b := range s.bodies {
		require.Equal(t, req.Header.Get("Authorization"), s.auths[i])
		var got pushBody
		require.NoError(t, json.Unmarshal(b, &got), string(b))
		require.Equal(t, []string{"dev-" + strconv.Itoa(i+1)}, got.Audience.DeviceIDs)
		require.Equal(t, "bench", got.Notification.Title)
		ns, err := strconv.ParseInt(got.Notification.Data["t"], 10, 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, ns, before)
		// Byte for byte what the net/http client path sends, given the
		// same time stamp.
		want, err := json.Marshal(pushBody{Audience: audience{DeviceIDs: got.Audience.DeviceIDs},
			Notification: notification{Title: "bench", Data: map[string]string{"t": got.Notification.Data["t"]}}})
		require.NoError(t, err)
		require.Equal(t, string(want), string(b))
	}
}

func TestH1PusherReportsRefusals(t *testing.T) {
	s := newPushServer(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(`{"type":"unknown-device"}` + "\n"))
	})
	p, err := newH1Pusher(s.srv.URL, "k", "s")
	require.NoError(t, err)
	defer p.close()
	err = p.push(t.Context(), "nobody")
	var pe *pushError
	require.True(t, errors.As(err, &pe), "got %v", err)
	require.Equal(t, http.StatusUnprocessableEntity, pe.Status)
	require.Equal(t, `{"type":"unknown-device"}`, pe.Body)
	// The connection stays usable after a refusal.
	require.Error(t, p.push(t.Context(), "nobody"))
	require.EqualValues(t, 1, s.conns.Load())
}

func TestH1PusherRedialsAfterClose(t *testing.T) {
	s := newPushServer(t, func(w http.ResponseWriter) {
		w.Header().Set("Connection", "close")
		accepted(w)
	})
	p, err := newH1Pusher(s.srv.URL, "k", "s")
	require.NoError(t, err)
	defer p.close()
	require.NoError(t, p.push(t.Context(), "a"))
	require.NoError(t, p.push(t.Context(), "b"))
	require.EqualValues(t, 2, s.conns.Load(), "a closed connection is dialed again")
}

func TestH1PusherChunkedAnswer(t *testing.T) {
	s := newPushServer(t, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusAccepted)
		w.(http.Flusher).Flush() // no Content-Length: the body is chunked
		w.Write([]byte(`{"push_id":"p1"}`))
	})
	p, err := newH1Pusher(s.srv.URL, "k", "s")
	require.NoError(t, err)
	defer p.close()
	require.NoError(t, p.push(t.Context(), "a"))
	require.NoError(t, p.push(t.Context(), "b"))
	require.EqualValues(t, 1, s.conns.Load())
}

func TestNewH1PusherURL(t *testing.T) {
	for _, u := range []string{"https://127.0.0.1:1", "http://", "http://127.0.0.1:1/prefix", "::"} {
		_, err := newH1Pusher(u, "k", "s")
		require.Error(t, err, u)
	}
	p, err := newH1Pusher("http://localhost", "k", "s")
	require.NoError(t, err)
	require.Equal(t, "localhost:80", p.host)
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "dev-1", `a"b`, `back\slash`, "tab\t", "é"} {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString(nil, s)), s)
	}
}

func TestReadResponse(t *testing.T) {
	cases := []struct {
		in     string
		status int
		body   string
		keep   bool
		err    bool
	}{
		{"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}", 202, "{}", true, false},
		{"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nConnection: close\r\n\r\n", 202, "", false, false},
		{"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", false, false},
		{"HTTP/1.1 200 OK\r\n\r\nto the end", 200, "to the end", false, false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, "abc", true, false},
		{"HTTP/1.1 204 No Content\r\n\r\n", 204, "", true, false},
		{"HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\n{}", 0, "", false, true},
		{"HTTP/1.1 2x2 Accepted\r\n\r\n", 0, "", false, true},
		{"HTTP/2 202 Accepted\r\n\r\n", 0, "", false, true},
		{"HTTP/1.1 202\r\nContent-Length: -1\r\n\r\n", 0, "", false, true},
		{"HTTP/1.1 202 OK\r\nno colon\r\n\r\n", 0, "", false, true},
		{"HTTP/1.1 202 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, "", false, true},
		{"HTTP/1.1 202 OK\r\nContent-Length: 99999999\r\n\r\n", 0, "", false, true},
		{"", 0, "", false, true},
	}
	for _, c := range cases {
		status, body, keep, err := readResponse(bufio.NewReader(strings.NewReader(c.in)), nil)
		if c.err {
			require.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.status, status, c.in)
		require.Equal(t, c.body, string(body), c.in)
		require.Equal(t, c.keep, keep, c.in)
	}
}

// FuzzReadResponse feeds arbitrary bytes as a server's answer: never a
// panic, and an answer that is read has a plausible status and a bounded
// body.
func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}")
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	f.Add("HTTP/1.0 500 x\r\n\r\nbody")
	f.Fuzz(func(t *testing.T, in string) {
		status, body, _, err := readResponse(bufio.NewReader(strings.NewReader(in)), http.Header{})
		if err != nil {
			return
		}
		if status < 100 || status > 999 || len(body) > maxAnswerBody {
			t.Fatalf("status %d, %d body bytes from %q", status, len(body), in)
		}
	})
}

// The pool reuses the most recently returned connection, and opens no
// more than the senders that ran at once.
func TestH1PoolReusesConnections(t *testing.T) {
	s := newPushServer(t, accepted)
	p, err := newH1Pool(s.srv.URL, "k", "s")
	require.NoError(t, err)
	defer p.close()
	for range 20 {
		require.NoError(t, p.push(t.Context(), "a"))
	}
	require.EqualValues(t, 1, s.conns.Load())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				if err := p.push(t.Context(), "b"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	require.LessOrEqual(t, s.conns.Load(), int32(4))
	require.EqualValues(t, 120, s.reqSeen.Load())
	_, err = newH1Pool("https://127.0.0.1:1", "k", "s")
	require.Error(t, err)
}
