package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// recordingQueue stores fallback checks at once and keeps them.
type recordingQueue struct {
	mu   sync.Mutex
	jobs []relayq.Job
	fail bool
}

func (q *recordingQueue) Schedule(_ context.Context, jobs []relayq.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail {
		return errors.New("queue down")
	}
	q.jobs = append(q.jobs, jobs...)
	return nil
}

func (q *recordingQueue) devices(pushID string) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, j := range q.jobs {
		if j.PushID == pushID {
			out = append(out, j.DeviceID)
		}
	}
	return out
}

// tagHarness is a gateway on the embedded store with apps a1 (k1/s1) and
// a2, devices tagged by their number, and connectors that record which
// devices each push was delivered to.
type tagHarness struct {
	t     *testing.T
	g     *Gateway
	mux   *http.ServeMux
	queue *recordingQueue
	mu    sync.Mutex
	got   map[string][]string // push id -> devices delivered to
}

func newTagHarness(t *testing.T, st Store) *tagHarness {
	h := &tagHarness{t: t, queue: &recordingQueue{}, got: map[string][]string{}, mux: http.NewServeMux()}
	d := &scripted{calls: map[string]int{}, fn: func(_ string, _ int, b route.Batch) ([]route.Result, error) {
		h.mu.Lock()
		h.got[b.Message.PushID] = append(h.got[b.Message.PushID], b.DeviceIDs...)
		h.mu.Unlock()
		return all(route.Offline, len(b.DeviceIDs)), nil
	}}
	h.g = New(Config{}, st, testRing(), d, nil, nil, WithRelay(Relay{Queue: h.queue}))
	h.g.Register(h.mux)
	return h
}

func openTagStore(t *testing.T) *pebblestore.Store {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	for _, a := range []struct{ id, key, secret string }{{"a1", "k1", "s1"}, {"a2", "k2", "s2"}} {
		sum := sha256.Sum256([]byte(a.secret))
		require.NoError(t, st.CreateApp(t.Context(), &store.App{ID: a.id, Name: a.id, Key: a.key, SecretHash: sum[:], CreatedAt: time.Now().UTC()}))
	}
	return st
}

// tagDevices registers n devices of app: device i has "sports" when i is
// a multiple of 3 and "news" when it is a multiple of 5. It returns the
// ids of those with either.
func tagDevices(t *testing.T, st *pebblestore.Store, app string, n int) []string {
	var tagged []string
	for i := range n {
		d := &store.Device{ID: fmt.Sprintf("%s-dev-%05d", app, i), AppID: app, Platform: "android", CreatedAt: time.Now().UTC()}
		if i%3 == 0 {
			d.Tags = append(d.Tags, "sports")
		}
		if i%5 == 0 {
			d.Tags = append(d.Tags, "news")
		}
		if i%7 == 0 {
			d.Tags = append(d.Tags, "other")
		}
		require.NoError(t, st.PutDevice(t.Context(), d))
		if len(d.Tags) > 0 && d.Tags[0] != "other" {
			tagged = append(tagged, d.ID)
		}
	}
	return tagged
}

func (h *tagHarness) post(key, secret, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/v1/pushes", strings.NewReader(body))
	r.SetBasicAuth(key, secret)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.mux.ServeHTTP(w, r)
	return w
}

func (h *tagHarness) delivered(id string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got[id])
}

// routeQueued routes what acceptance queued, on this goroutine.
func (h *tagHarness) routeQueued() {
	for len(h.g.jobs) > 0 {
		job := <-h.g.jobs
		done := make(chan struct{})
		h.g.routeJob(context.Background(), job, func() { h.g.queued.Delete(job.id); close(done) })
		<-done
	}
}

const sportsOrNews = `{"audience":{"tags":["sports","news"]},"notification":{"title":"score"}}`

// A push to tags reaches every device of the app with one of them, once,
// over several pages, with a fallback check each, and counts them.
func TestTagPushReachesEveryTaggedDevice(t *testing.T) {
	t.Parallel()
	st := openTagStore(t)
	want := tagDevices(t, st, "a1", 2300)
	tagDevices(t, st, "a2", 50)
	require.Greater(t, len(want), 2*tagPage, "more than two pages")
	h := newTagHarness(t, st)

	w := h.post("k1", "s1", sportsOrNews)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	var out pushAccepted
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
	h.routeQueued()

	got := h.delivered(out.PushID)
	slices.Sort(got)
	require.Equal(t, want, got, "every tagged device of the app, once")
	checks := h.queue.devices(out.PushID)
	slices.Sort(checks)
	require.Equal(t, want, checks, "one fallback check each")
	p, err := st.Push(t.Context(), out.PushID)
	require.NoError(t, err)
	require.Equal(t, store.PushDone, p.State)
	require.Equal(t, store.Counts{Targeted: int64(len(want)), Offline: int64(len(want))}, p.Counts)
	require.Equal(t, []string{"sports", "news"}, p.Audience.Tags)
}

// A push to tags that stops half way stays pending, and routed again it
// finishes with each device counted once.
func TestTagPushLeftPendingIsRoutedAgain(t *testing.T) {
	t.Parallel()
	st := openTagStore(t)
	want := tagDevices(t, st, "a1", 2300)
	h := newTagHarness(t, st)
	h.queue.fail = true
	w := h.post("k1", "s1", sportsOrNews)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	var out pushAccepted
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
	h.routeQueued()
	p, err := st.Push(t.Context(), out.PushID)
	require.NoError(t, err)
	require.Equal(t, store.PushPending, p.State, "its checks were not stored")
	require.Zero(t, p.Counts)

	h.queue.fail = false
	h.g.resumePending(t.Context(), 0)
	h.routeQueued()
	p, err = st.Push(t.Context(), out.PushID)
	require.NoError(t, err)
	require.Equal(t, store.PushDone, p.State)
	require.Equal(t, store.Counts{Targeted: int64(len(want)), Offline: int64(len(want))}, p.Counts)
	checks := h.queue.devices(out.PushID)
	slices.Sort(checks)
	require.Equal(t, want, checks)
}

func TestTagAudienceValidation(t *testing.T) {
	t.Parallel()
	h := newTagHarness(t, openTagStore(t))
	long := strings.Repeat("x", 65)
	for _, audience := range []string{
		`{"tags":["a"],"device_ids":["d"]}`,
		`{"tags":["a"],"aliases":["u"]}`,
		`{"tags":["a"],"broadcast":true}`,
		`{"tags":["1","2","3","4","5","6","7","8","9","10","11"]}`,
		`{"tags":[""]}`,
		`{"tags":["` + long + `"]}`,
	} {
		t.Log(audience)
		requireProblem(t, h.post("k1", "s1", `{"audience":`+audience+`,"notification":{"title":"t"}}`),
			http.StatusUnprocessableEntity, "invalid-audience")
	}
	requireProblem(t, h.post("k1", "s1", `{"audience":{"tags":[]},"notification":{"title":"t"}}`),
		http.StatusUnprocessableEntity, "empty-audience")
	require.Equal(t, http.StatusAccepted, h.post("k1", "s1",
		`{"audience":{"tags":["1","2","3","4","5","6","7","8","9","`+long[:64]+`"]},"notification":{"title":"t"}}`).Code)
}

// noTags is a store without a tag index.
type noTags struct{ Store }

// A store that cannot list devices by tag refuses tag pushes at once.
func TestTagPushWithoutTagIndex(t *testing.T) {
	t.Parallel()
	h := newTagHarness(t, noTags{openTagStore(t)})
	requireProblem(t, h.post("k1", "s1", sportsOrNews), http.StatusNotImplemented, "tags-unsupported")
}

// A push to tags with rate_per_second goes out in pages of at most that
// many devices, one page a second's share apart.
func TestTagPushIsPaced(t *testing.T) {
	t.Parallel()
	st := openTagStore(t)
	want := tagDevices(t, st, "a1", 2300)
	h := newTagHarness(t, st)
	clock := time.Now()
	var mu sync.Mutex
	var slept []time.Duration
	h.g.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	h.g.sleep = func(_ context.Context, d time.Duration) bool {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		clock = clock.Add(d)
		return true
	}
	w := h.post("k1", "s1", `{"audience":{"tags":["sports","news"]},"notification":{"title":"t"},"options":{"rate_per_second":200}}`)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	var out pushAccepted
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
	p, err := st.Push(t.Context(), out.PushID)
	require.NoError(t, err)
	require.Equal(t, 200, p.Rate, "kept with the push, for a resumed routing")
	h.routeQueued()

	got := h.delivered(out.PushID)
	slices.Sort(got)
	require.Equal(t, want, got)
	pages := (len(want) + 199) / 200
	require.Equal(t, slices.Repeat([]time.Duration{time.Second}, pages-1), slept, "a second between pages of 200")
	p, err = st.Push(t.Context(), out.PushID)
	require.NoError(t, err)
	require.Equal(t, store.PushDone, p.State)
	require.EqualValues(t, len(want), p.Counts.Targeted)

	for _, options := range []string{`{"rate_per_second":0}`, `{"rate_per_second":100001}`} {
		requireProblem(t, h.post("k1", "s1", `{"audience":{"tags":["a"]},"notification":{"title":"t"},"options":`+options+`}`),
			http.StatusUnprocessableEntity, "invalid-rate")
	}
	requireProblem(t, h.post("k1", "s1", `{"audience":{"aliases":["a"]},"notification":{"title":"t"},"options":{"rate_per_second":10}}`),
		http.StatusUnprocessableEntity, "invalid-rate")
}

// leasing is the embedded store with routing leases kept in memory, as a
// store that several gateways share keeps them.
type leasing struct {
	*pebblestore.Store
	mu     sync.Mutex
	leases map[string]time.Time
	calls  int
}

func (l *leasing) LeasePush(_ context.Context, id string, until time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leases[id] = until
	l.calls++
	return nil
}

func (l *leasing) PushLease(_ context.Context, id string) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leases[id], nil
}

// A push to tags renews its routing lease with each page, and the
// periodic sweep of a gateway leaves a leased push alone, however old.
func TestTagPushLeasesItsRouting(t *testing.T) {
	t.Parallel()
	pst := openTagStore(t)
	want := tagDevices(t, pst, "a1", 2300)
	st := &leasing{Store: pst, leases: map[string]time.Time{}}
	h := newTagHarness(t, st)
	w := h.post("k1", "s1", sportsOrNews)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	var out pushAccepted
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
	h.routeQueued()
	require.Len(t, h.delivered(out.PushID), len(want))
	require.Equal(t, (len(want)+tagPage-1)/tagPage, st.calls, "one lease per page")
	require.True(t, st.leases[out.PushID].After(time.Now().Add(h.g.cfg.RouteTimeout)))

	old := &store.Push{ID: ids.At(time.Now().Add(-time.Hour)), AppID: "a1", Audience: store.Audience{Tags: []string{"sports"}},
		CreatedAt: time.Now().Add(-time.Hour), State: store.PushPending}
	_, err := pst.CreatePush(t.Context(), old, "")
	require.NoError(t, err)
	require.NoError(t, st.LeasePush(t.Context(), old.ID, time.Now().Add(time.Minute)))
	h.g.resumePending(t.Context(), h.g.cfg.RouteTimeout+sweepMargin)
	h.g.resumePending(t.Context(), 0) // the sweep at start
	h.routeQueued()
	require.Empty(t, h.delivered(old.ID), "leased by another gateway")
	require.NoError(t, st.LeasePush(t.Context(), old.ID, time.Now().Add(-time.Second)))
	h.g.resumePending(t.Context(), h.g.cfg.RouteTimeout+sweepMargin)
	h.routeQueued()
	require.NotEmpty(t, h.delivered(old.ID), "routed once the lease ran out")
}
