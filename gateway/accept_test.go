package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/dispatcher"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// syncLog is a Pebble store that records the deferred-durability calls
// the gateway makes, in order with the deliveries of a connector that
// appends to it.
type syncLog struct {
	*pebblestore.Store
	mu     sync.Mutex
	events []string
}

func (s *syncLog) add(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

func (s *syncLog) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

func (s *syncLog) CreatePush(ctx context.Context, p *store.Push, idem string) (string, error) {
	s.add("create-synced")
	return s.Store.CreatePush(ctx, p, idem)
}

func (s *syncLog) CreatePushDeferred(ctx context.Context, p *store.Push, idem string) (string, uint64, error) {
	s.add("create-deferred")
	return s.Store.CreatePushDeferred(ctx, p, idem)
}

func (s *syncLog) SyncSince(ctx context.Context, mark uint64) error {
	s.add("sync")
	return s.Store.SyncSince(ctx, mark)
}

// appending delivers like an in-process connector: it appends the message
// to each device's stream and reports it written.
type appending struct{ st *syncLog }

func (a appending) Deliver(ctx context.Context, _ dispatcher.Node, b route.Batch) ([]route.Result, error) {
	entries := make([]store.Entry, len(b.DeviceIDs))
	for i, id := range b.DeviceIDs {
		entries[i] = store.Entry{DeviceID: id, Message: b.Message}
	}
	if _, err := a.st.Append(ctx, entries); err != nil {
		return nil, err
	}
	a.st.add("appended")
	return all(route.Written, len(b.DeviceIDs)), nil
}

func (appending) Broadcast(context.Context, dispatcher.Node, route.Broadcast) (route.BroadcastResult, error) {
	return route.BroadcastResult{}, nil
}

func newSyncLog(t *testing.T) *syncLog {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return &syncLog{Store: st}
}

func acceptPush(t *testing.T, g *Gateway, p *store.Push, idem string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/pushes", nil)
	require.NoError(t, g.accept(w, r, &store.App{ID: "app"}, p, idem))
	return w
}

func unicastPush(targets ...string) *store.Push {
	now := time.Now().UTC()
	return &store.Push{ID: ids.At(now), AppID: "app", Targets: targets, Audience: store.Audience{DeviceIDs: targets},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), Fingerprint: "f", State: store.PushPending}
}

// The push is written without an fsync, and the answer waits until the
// synced append of its delivery has carried it to disk.
func TestAcceptDefersSyncToFirstDelivery(t *testing.T) {
	t.Parallel()
	st := newSyncLog(t)
	g := New(Config{}, st, testRing(), appending{st}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	p := unicastPush("d1")
	w := acceptPush(t, g, p, "")
	require.Equal(t, http.StatusAccepted, w.Code)
	require.Equal(t, []string{"create-deferred", "appended", "sync"}, st.log())
	page, err := st.ReadStream(context.Background(), "d1", 0, 0, 10)
	require.NoError(t, err)
	require.Len(t, page.Messages, 1)
	require.Equal(t, p.ID, page.Messages[0].PushID)
}

// With the routing queue full, the gateway syncs the push itself before it
// answers, and the push stays pending for the next sweep.
func TestAcceptDeferredSyncsWhenQueueIsFull(t *testing.T) {
	t.Parallel()
	st := newSyncLog(t)
	g := New(Config{}, st, testRing(), appending{st}, nil, nil)
	for i := 0; len(g.jobs) < cap(g.jobs); i++ {
		g.jobs <- routeJob{id: ids.New()}
	}
	p := unicastPush("d1")
	w := acceptPush(t, g, p, "")
	require.Equal(t, http.StatusAccepted, w.Code)
	require.Equal(t, []string{"create-deferred", "sync"}, st.log())
	pending, err := st.PendingPushes(context.Background(), 10)
	require.NoError(t, err)
	require.Equal(t, []string{p.ID}, pending)
}

// A replay of the idempotency key syncs before it answers: the first
// request may not have been made durable yet.
func TestAcceptDeferredReplaySyncs(t *testing.T) {
	t.Parallel()
	st := newSyncLog(t)
	g := New(Config{}, st, testRing(), appending{st}, nil, nil)
	for i := 0; len(g.jobs) < cap(g.jobs); i++ {
		g.jobs <- routeJob{id: ids.New()}
	}
	first := unicastPush("d1")
	require.Equal(t, http.StatusAccepted, acceptPush(t, g, first, "key").Code)
	again := unicastPush("d1")
	w := acceptPush(t, g, again, "key")
	require.Equal(t, http.StatusAccepted, w.Code)
	require.Equal(t, "true", w.Header().Get("Idempotent-Replayed"))
	require.Contains(t, w.Body.String(), first.ID)
	require.Equal(t, []string{"create-deferred", "sync", "create-deferred", "sync"}, st.log())
}

// Broadcasts append to the app's stream, not to the devices': their record
// is synced on its own.
func TestAcceptBroadcastSyncsAtOnce(t *testing.T) {
	t.Parallel()
	st := newSyncLog(t)
	g := New(Config{}, st, testRing(), appending{st}, nil, nil)
	now := time.Now().UTC()
	p := &store.Push{ID: ids.At(now), AppID: "app", Audience: store.Audience{Broadcast: true},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), State: store.PushPending}
	require.Equal(t, http.StatusAccepted, acceptPush(t, g, p, "").Code)
	require.Equal(t, []string{"create-synced"}, st.log())
}

func (appending) Disconnect(context.Context, dispatcher.Node, route.Disconnect) (route.DisconnectResult, error) {
	return route.DisconnectResult{}, nil
}
