package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto"
)

// streamStore is a Store with one device and an in-memory stream; the
// methods the sync endpoints do not use are left to the nil interface.
type streamStore struct {
	Store
	dev *store.Device

	mu    sync.Mutex
	epoch uint64
	msgs  []store.Message // seq i+1 at index i
	reads int
	// onRead, if set, runs before each read, with the number of reads so
	// far.
	onRead func(s *streamStore, n int)
}

func newStreamStore(n int) *streamStore {
	s := &streamStore{dev: &store.Device{ID: "dev-1", Secret: []byte("0123456789abcdef0123456789abcdef")}, epoch: 7}
	s.add(n)
	return s
}

// add appends n messages; the caller holds mu or owns s alone.
func (s *streamStore) add(n int) {
	for range n {
		seq := uint64(len(s.msgs) + 1)
		s.msgs = append(s.msgs, store.Message{Seq: seq, PushID: "p" + strconv.FormatUint(seq, 10), SentAt: time.Unix(1, 0).UTC()})
	}
}

func (s *streamStore) Devices(_ context.Context, ids []string) ([]*store.Device, error) {
	out := make([]*store.Device, len(ids))
	for i, id := range ids {
		if id == s.dev.ID {
			out[i] = s.dev
		}
	}
	return out, nil
}

// ReadStream follows store.Streams for a stream that is never trimmed.
func (s *streamStore) ReadStream(_ context.Context, _ string, epoch, since uint64, limit int) (store.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.onRead != nil {
		s.onRead(s, s.reads)
	}
	head := uint64(len(s.msgs))
	p := store.Page{Epoch: s.epoch, Head: head, Recovered: true}
	if (epoch != 0 && epoch != s.epoch) || (epoch == 0 && since > 0) || since > head {
		since, p.Recovered = 0, false
	}
	end := min(head, since+uint64(limit))
	p.Messages = append(p.Messages, s.msgs[since:end]...)
	p.More = end < head
	return p, nil
}

// signedRequest returns a request signed for dev-1 at ts.
func signedRequest(method, target string, secret []byte, ts time.Time) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Header.Set("Authorization", sdkproto.HTTPAuthHeader(secret, method, target, ts.Unix()))
	return r
}

func serveSync(t *testing.T, st *streamStore, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	g := New(Config{}, st, nil, nil, nil, nil)
	mux := http.NewServeMux()
	g.Register(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func requireProblem(t *testing.T, w *httptest.ResponseRecorder, status int, slug string) {
	t.Helper()
	require.Equal(t, status, w.Code, w.Body.String())
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	var p httpx.Problem
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	require.Equal(t, httpx.ProblemBase+slug, p.Type)
}

func TestDeviceAuthRefusals(t *testing.T) {
	t.Parallel()
	st := newStreamStore(3)
	now := time.Now()
	const target = "/v1/devices/dev-1/messages?since=0"
	for _, tc := range []struct {
		name string
		r    *http.Request
	}{
		{"no header", httptest.NewRequest(http.MethodGet, target, nil)},
		{"basic", func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, target, nil)
			r.SetBasicAuth("a", "b")
			return r
		}()},
		{"wrong secret", signedRequest(http.MethodGet, target, []byte("another secret of 32 bytes......"), now)},
		{"unknown device", signedRequest(http.MethodGet, "/v1/devices/dev-2/messages", st.dev.Secret, now)},
		{"old", signedRequest(http.MethodGet, target, st.dev.Secret, now.Add(-deviceAuthSkew-time.Minute))},
		{"future", signedRequest(http.MethodGet, target, st.dev.Secret, now.Add(deviceAuthSkew+time.Minute))},
		{"other uri", func() *http.Request {
			r := signedRequest(http.MethodGet, target, st.dev.Secret, now)
			r.RequestURI += "&limit=1"
			r.URL, _ = url.Parse(r.RequestURI)
			return r
		}()},
		{"other method", func() *http.Request {
			r := signedRequest(http.MethodGet, "/v1/devices/dev-1/acks", st.dev.Secret, now)
			r.Method = http.MethodPost
			return r
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := serveSync(t, st, tc.r)
			requireProblem(t, w, http.StatusUnauthorized, "unauthorized")
			require.Contains(t, w.Header().Get("WWW-Authenticate"), sdkproto.HTTPAuthScheme)
		})
	}
}

func TestListMessagesLinks(t *testing.T) {
	t.Parallel()
	st := newStreamStore(25)
	w := serveSync(t, st, signedRequest(http.MethodGet, "/v1/devices/dev-1/messages?since=3&epoch=7&limit=10", st.dev.Secret, time.Now()))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, []string{
		`</v1/devices/dev-1/messages?since=13&epoch=7&limit=10>; rel="next"`,
		`</v1/devices/dev-1/messages?since=15&epoch=7&limit=10>; rel="last"`,
	}, w.Header().Values("Link"))
	var page syncPage
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
	require.True(t, page.More)
	require.True(t, page.Recovered)
	require.Len(t, page.Messages, 10)
	require.EqualValues(t, 4, page.Messages[0].Seq)

	// A limit above the head: the last link starts at 0.
	w = serveSync(t, st, signedRequest(http.MethodGet, "/v1/devices/dev-1/messages?limit=500", st.dev.Secret, time.Now()))
	require.Equal(t, []string{`</v1/devices/dev-1/messages?since=0&epoch=7&limit=500>; rel="last"`}, w.Header().Values("Link"))
}

func TestListMessagesEmptyStream(t *testing.T) {
	t.Parallel()
	st := newStreamStore(0)
	w := serveSync(t, st, signedRequest(http.MethodGet, "/v1/devices/dev-1/messages", st.dev.Secret, time.Now()))
	require.Equal(t, http.StatusOK, w.Code)
	require.JSONEq(t, `{"epoch":7,"head":0,"recovered":true,"more":false,"messages":[]}`, w.Body.String())
}

// readNDJSON returns the seqs of a streamed answer.
func readNDJSON(t *testing.T, w *httptest.ResponseRecorder) []uint64 {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, mediaNDJSON, w.Header().Get("Content-Type"))
	var seqs []uint64
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		var m syncMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		seqs = append(seqs, m.Seq)
	}
	return seqs
}

func ndjsonRequest(st *streamStore, target string) *http.Request {
	r := signedRequest(http.MethodGet, target, st.dev.Secret, time.Now())
	r.Header.Set("Accept", "application/json;q=0.5, application/x-ndjson")
	return r
}

func TestStreamMessagesCap(t *testing.T) {
	t.Parallel()
	st := newStreamStore(ndjsonCap + 700)
	w := serveSync(t, st, ndjsonRequest(st, "/v1/devices/dev-1/messages?since=100&epoch=7"))
	seqs := readNDJSON(t, w)
	require.Len(t, seqs, ndjsonCap)
	require.EqualValues(t, 101, seqs[0])
	require.EqualValues(t, 100+ndjsonCap, seqs[len(seqs)-1])
	require.Equal(t, "7", w.Header().Get(headerEpoch))
	require.Equal(t, strconv.Itoa(ndjsonCap+700), w.Header().Get(headerHead))
	require.Equal(t, "true", w.Header().Get(headerRecovered))
	require.Empty(t, w.Header().Values("Link"))
}

// TestStreamMessagesStopsOnNewEpoch: when the stream is lost during a
// streamed answer, the answer ends at the last message of the old epoch.
func TestStreamMessagesStopsOnNewEpoch(t *testing.T) {
	t.Parallel()
	st := newStreamStore(3 * ndjsonPage)
	st.onRead = func(s *streamStore, n int) {
		if n == 2 {
			s.epoch = 8
		}
	}
	seqs := readNDJSON(t, serveSync(t, st, ndjsonRequest(st, "/v1/devices/dev-1/messages")))
	require.Len(t, seqs, ndjsonPage)
	require.EqualValues(t, ndjsonPage, seqs[len(seqs)-1])
}

// TestStreamMessagesFollowsGrowth: messages appended during a streamed
// answer are included.
func TestStreamMessagesFollowsGrowth(t *testing.T) {
	t.Parallel()
	st := newStreamStore(ndjsonPage + 1)
	st.onRead = func(s *streamStore, n int) {
		if n == 2 {
			s.add(5)
		}
	}
	w := serveSync(t, st, ndjsonRequest(st, "/v1/devices/dev-1/messages?since=0&epoch=99"))
	seqs := readNDJSON(t, w)
	require.Len(t, seqs, ndjsonPage+6)
	require.Equal(t, "false", w.Header().Get(headerRecovered), "epoch 99 is not the stream's")
	require.Equal(t, strconv.Itoa(ndjsonPage+1), w.Header().Get(headerHead), "the head of the first read")
}

func TestWantsNDJSON(t *testing.T) {
	t.Parallel()
	for accept, want := range map[string]bool{
		"":                                     false,
		"application/json":                     false,
		"application/x-ndjson":                 true,
		"Application/X-NDJSON; charset=utf-8":  true,
		"text/html, application/x-ndjson;q=.9": true,
		"application/x-ndjsonx":                false,
		"*/*":                                  false,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		require.Equal(t, want, wantsNDJSON(r), accept)
	}
}

func TestParseSyncQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		query string
		want  syncQuery
		ok    bool
	}{
		{"", syncQuery{limit: 100}, true},
		{"since=5&epoch=18446744073709551615&limit=500", syncQuery{since: 5, epoch: 1<<64 - 1, limit: 500}, true},
		{"limit=1", syncQuery{limit: 1}, true},
		{"since=&epoch=", syncQuery{limit: 100}, true},
		{"since=-1", syncQuery{}, false},
		{"since=1.5", syncQuery{}, false},
		{"epoch=18446744073709551616", syncQuery{}, false},
		{"epoch=x", syncQuery{}, false},
		{"limit=0", syncQuery{}, false},
		{"limit=501", syncQuery{}, false},
		{"limit=ten", syncQuery{}, false},
	} {
		t.Run("q="+tc.query, func(t *testing.T) {
			t.Parallel()
			q, _ := url.ParseQuery(tc.query)
			got, err := parseSyncQuery(q)
			if !tc.ok {
				var e *httpx.Error
				require.True(t, errors.As(err, &e))
				require.Equal(t, "bad-query", e.Slug)
				require.Equal(t, http.StatusBadRequest, e.Status)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// FuzzSyncQuery feeds arbitrary query strings to the query parser: it must
// never panic, refuse only with a 400 bad-query, and keep the limit in range.
func FuzzSyncQuery(f *testing.F) {
	f.Add("since=1&epoch=2&limit=3")
	f.Add("limit=0")
	f.Add("since=%zz")
	f.Add("epoch=99999999999999999999999")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		sq, err := parseSyncQuery(q)
		if err != nil {
			var e *httpx.Error
			require.True(t, errors.As(err, &e))
			require.Equal(t, http.StatusBadRequest, e.Status)
			return
		}
		require.GreaterOrEqual(t, sq.limit, 1)
		require.LessOrEqual(t, sq.limit, maxSyncLimit)
	})
}
