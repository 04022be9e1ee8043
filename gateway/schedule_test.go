package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
)

// scheduleHarness is a gateway on the embedded store with one app ("a1",
// key k1) and one device, whose connectors record the pushes they get.
type scheduleHarness struct {
	*updateHarness
	mu     sync.Mutex
	routed map[string]int // push id -> batches delivered
	clock  time.Time
}

func newScheduleHarness(t *testing.T) *scheduleHarness {
	h := &scheduleHarness{routed: map[string]int{}, clock: time.Now().UTC().Truncate(time.Millisecond)}
	d := &scripted{calls: map[string]int{}, fn: func(_ string, _ int, b route.Batch) ([]route.Result, error) {
		h.mu.Lock()
		h.routed[b.Message.PushID]++
		h.mu.Unlock()
		return all(route.Written, len(b.DeviceIDs)), nil
	}}
	h.updateHarness = newDeviceHarness(t, testRing(), d)
	h.g.now = func() time.Time {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.clock
	}
	return h
}

func (h *scheduleHarness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clock = h.clock.Add(d)
}

func (h *scheduleHarness) timesRouted(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.routed[id]
}

// push posts a push to the harness's device with the given options.
func (h *scheduleHarness) push(options string) *httptest.ResponseRecorder {
	body := fmt.Sprintf(`{"audience":{"device_ids":[%q]},"notification":{"title":"t"},"options":%s}`, h.id, options)
	r := httptest.NewRequest(http.MethodPost, "/v1/pushes", strings.NewReader(body))
	r.SetBasicAuth("k1", "s1")
	return h.serve(r)
}

func (h *scheduleHarness) accepted(options string) string {
	h.t.Helper()
	w := h.push(options)
	require.Equal(h.t, http.StatusAccepted, w.Code, w.Body.String())
	var out pushAccepted
	require.NoError(h.t, json.Unmarshal(w.Body.Bytes(), &out))
	return out.PushID
}

func (h *scheduleHarness) view(id string) pushView {
	h.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/v1/pushes/"+id, nil)
	r.SetBasicAuth("k1", "s1")
	w := h.serve(r)
	require.Equal(h.t, http.StatusOK, w.Code, w.Body.String())
	var v pushView
	require.NoError(h.t, json.Unmarshal(w.Body.Bytes(), &v))
	return v
}

func (h *scheduleHarness) cancel(id, key, secret string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodDelete, "/v1/pushes/"+id, nil)
	r.SetBasicAuth(key, secret)
	return h.serve(r)
}

// tick starts the due pushes and routes what that queued, as Run does.
func (h *scheduleHarness) tick() {
	ctx := context.Background()
	h.g.startDue(ctx)
	h.drain()
}

// drain routes the queued jobs on this goroutine.
func (h *scheduleHarness) drain() {
	ctx := context.Background()
	for len(h.g.jobs) > 0 {
		job := <-h.g.jobs
		done := make(chan struct{})
		h.g.routeJob(ctx, job, func() { h.g.queued.Delete(job.id); close(done) })
		<-done
	}
}

func sendAt(t time.Time) string { return fmt.Sprintf(`{"send_at":%q}`, t.Format(time.RFC3339Nano)) }

// A push with a send time ahead is stored, shown as scheduled, and routed
// only once its time came.
func TestScheduledPushWaitsForItsTime(t *testing.T) {
	t.Parallel()
	h := newScheduleHarness(t)
	at := h.clock.Add(time.Hour).Truncate(time.Second)
	id := h.accepted(fmt.Sprintf(`{"send_at":%q,"ttl_seconds":600}`, at.Format(time.RFC3339)))

	v := h.view(id)
	require.Equal(t, store.PushScheduled, v.State)
	require.True(t, at.Equal(v.SendAt), "send_at %v", v.SendAt)
	require.True(t, at.Add(10*time.Minute).Equal(v.ExpiresAt), "the TTL runs from the send time: %v", v.ExpiresAt)
	require.EqualValues(t, 1, v.Counts.Targeted)

	h.tick()
	h.advance(59 * time.Minute)
	h.tick()
	require.Zero(t, h.timesRouted(id), "not routed before its send time")
	require.Equal(t, store.PushScheduled, h.view(id).State)

	h.advance(time.Minute)
	h.tick()
	require.Equal(t, 1, h.timesRouted(id), "routed at its send time")
	require.Equal(t, store.PushDone, h.view(id).State)
	h.advance(time.Hour)
	h.tick()
	require.Equal(t, 1, h.timesRouted(id), "routed once")
}

// A send time that is not ahead means now; a malformed or too distant one
// is refused.
func TestSendAtValidation(t *testing.T) {
	t.Parallel()
	h := newScheduleHarness(t)
	id := h.accepted(sendAt(h.clock.Add(-time.Minute)))
	h.drain()
	v := h.view(id)
	require.Equal(t, store.PushDone, v.State, "a past send time is sent at once")
	require.True(t, v.SendAt.IsZero())
	require.Equal(t, 1, h.timesRouted(id))

	for name, options := range map[string]string{
		"not a time":    `{"send_at":"tomorrow"}`,
		"no zone":       `{"send_at":"2030-01-02T15:04:05"}`,
		"too far ahead": sendAt(h.clock.Add(31 * 24 * time.Hour)),
	} {
		t.Log(name)
		requireProblem(t, h.push(options), http.StatusUnprocessableEntity, "invalid-send-at")
	}
	requireProblem(t, h.push(`{"send_at":12}`), http.StatusBadRequest, "bad-json")
	h.accepted(sendAt(h.clock.Add(30 * 24 * time.Hour)))
}

// A scheduled push can be cancelled until its time comes, and is then
// never routed; a push already sent cannot be.
func TestCancelScheduledPush(t *testing.T) {
	t.Parallel()
	h := newScheduleHarness(t)
	id := h.accepted(sendAt(h.clock.Add(time.Hour)))

	require.Equal(t, http.StatusNotFound, h.cancel(id, "k2", "s2").Code, "another app's push")
	require.Equal(t, http.StatusUnauthorized, h.cancel(id, "k1", "wrong").Code)
	require.Equal(t, http.StatusNotFound, h.cancel(ids.New(), "k1", "s1").Code)

	w := h.cancel(id, "k1", "s1")
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Equal(t, store.PushCancelled, h.view(id).State)
	require.Equal(t, http.StatusNoContent, h.cancel(id, "k1", "s1").Code, "cancelling again is harmless")

	h.advance(2 * time.Hour)
	h.tick()
	require.Zero(t, h.timesRouted(id), "a cancelled push is never routed")
	require.Equal(t, store.PushCancelled, h.view(id).State)

	now := h.accepted(`{}`)
	h.drain()
	requireProblem(t, h.cancel(now, "k1", "s1"), http.StatusConflict, "not-cancellable")
	require.Equal(t, store.PushDone, h.view(now).State)

	late := h.accepted(sendAt(h.clock.Add(time.Minute)))
	h.advance(time.Minute)
	h.tick()
	requireProblem(t, h.cancel(late, "k1", "s1"), http.StatusConflict, "not-cancellable")
	require.Equal(t, 1, h.timesRouted(late))
}

// Of several gateways on one store, one routes each scheduled push.
func TestScheduledPushStartsOnce(t *testing.T) {
	t.Parallel()
	h := newScheduleHarness(t)
	var pushes []string
	for range 20 {
		pushes = append(pushes, h.accepted(sendAt(h.clock.Add(time.Minute))))
	}
	others := make([]*Gateway, 3)
	for i := range others {
		others[i] = New(Config{}, h.st, testRing(), h.g.deliver, nil, nil)
		others[i].now = h.g.now
	}
	h.advance(time.Minute)
	var wg sync.WaitGroup
	for _, g := range append(others, h.g) {
		wg.Go(func() {
			g.startDue(context.Background())
			for len(g.jobs) > 0 {
				job := <-g.jobs
				done := make(chan struct{})
				g.routeJob(context.Background(), job, func() { close(done) })
				<-done
			}
		})
	}
	wg.Wait()
	for _, id := range pushes {
		require.Equal(t, 1, h.timesRouted(id), "push %s", id)
		require.Equal(t, store.PushDone, h.view(id).State)
	}
}

// The periodic sweep leaves alone a scheduled push that a gateway began
// to route lately, although its id is old; the sweep at start takes it.
func TestSweepLeavesStartedScheduledPushesAlone(t *testing.T) {
	t.Parallel()
	h := newScheduleHarness(t)
	ctx := context.Background()
	now := time.Now().UTC()
	p := &store.Push{ID: ids.At(now.Add(-time.Hour)), AppID: "a1", Targets: []string{h.id},
		CreatedAt: now.Add(-time.Hour), SendAt: now, ExpiresAt: now.Add(time.Hour), State: store.PushScheduled}
	_, err := h.st.CreatePush(ctx, p, "")
	require.NoError(t, err)
	moved, err := h.st.EndSchedule(ctx, p.ID, store.PushPending)
	require.NoError(t, err)
	require.True(t, moved)

	h.g.resumePending(ctx, h.g.cfg.RouteTimeout+sweepMargin)
	h.drain()
	require.Zero(t, h.timesRouted(p.ID))
	h.g.resumePending(ctx, 0)
	h.drain()
	require.Equal(t, 1, h.timesRouted(p.ID))
}

// A send time is kept to the millisecond, rounded up: the push is never
// due before the time asked, on any store.
func TestSendAtKeptToTheMillisecond(t *testing.T) {
	t.Parallel()
	h := newScheduleHarness(t)
	asked := h.clock.Add(time.Hour + time.Nanosecond)
	id := h.accepted(sendAt(asked))
	require.True(t, h.clock.Add(time.Hour+time.Millisecond).Equal(h.view(id).SendAt))
	h.advance(time.Hour)
	h.tick()
	require.Zero(t, h.timesRouted(id), "not due a nanosecond early")
	h.advance(time.Millisecond)
	h.tick()
	require.Equal(t, 1, h.timesRouted(id))
}
