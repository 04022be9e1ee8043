package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// appStore answers AppByKey from a map and counts the calls; the gateway's
// other store methods are not used here.
type appStore struct {
	Store
	apps  map[string]*store.App
	calls int
}

func (s *appStore) AppByKey(_ context.Context, key string) (*store.App, error) {
	s.calls++
	a, ok := s.apps[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	cp := *a
	return &cp, nil
}

func TestAppCache(t *testing.T) {
	ctx := t.Context()
	st := &appStore{apps: map[string]*store.App{"k1": {ID: "a1", Key: "k1", Name: "one"}}}
	now := time.Unix(1000, 0)
	c := newAppCache(5 * time.Second)
	c.now = func() time.Time { return now }

	a, err := c.get(ctx, st, "k1")
	require.NoError(t, err)
	require.Equal(t, "one", a.Name)
	a.Name = "changed by a caller"
	b, err := c.get(ctx, st, "k1")
	require.NoError(t, err)
	require.Equal(t, "one", b.Name, "callers get copies")
	require.Equal(t, 1, st.calls, "the second read came from the cache")

	// A change elsewhere is seen once the entry expires.
	st.apps["k1"].Name = "renamed"
	now = now.Add(5 * time.Second)
	b, err = c.get(ctx, st, "k1")
	require.NoError(t, err)
	require.Equal(t, "renamed", b.Name)
	require.Equal(t, 2, st.calls)

	// A change through this gateway drops the entry at once.
	st.apps["k1"].Settings.PayloadMode = store.PayloadWakeup
	c.drop("a1")
	b, err = c.get(ctx, st, "k1")
	require.NoError(t, err)
	require.Equal(t, store.PayloadWakeup, b.Settings.PayloadMode)
	require.Equal(t, 3, st.calls)

	// Unknown keys are not cached.
	for range 2 {
		_, err = c.get(ctx, st, "nope")
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	require.Equal(t, 5, st.calls)
}

func TestAppCacheOff(t *testing.T) {
	st := &appStore{apps: map[string]*store.App{"k1": {ID: "a1", Key: "k1"}}}
	cfg := Config{AppCacheTTL: -1}
	cfg.setDefaults()
	c := newAppCache(cfg.AppCacheTTL)
	for range 3 {
		_, err := c.get(t.Context(), st, "k1")
		require.NoError(t, err)
	}
	require.Equal(t, 3, st.calls, "a negative TTL reads the store every time")
	require.Empty(t, c.byKey)
}

func TestAppCacheBounded(t *testing.T) {
	st := &appStore{apps: make(map[string]*store.App)}
	for i := range appCacheMax + 10 {
		k := fmt.Sprint("k", i)
		st.apps[k] = &store.App{ID: fmt.Sprint("a", i), Key: k}
	}
	c := newAppCache(time.Minute)
	for k := range st.apps {
		_, err := c.get(t.Context(), st, k)
		require.NoError(t, err)
		require.LessOrEqual(t, len(c.byKey), appCacheMax)
	}
}

// Changing an app's settings through the API drops the app from the cache,
// so the next push of that app reads the new settings.
func TestSettingsChangeDropsCachedApp(t *testing.T) {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	defer st.Close()
	g := New(Config{AdminToken: "admin"}, st, nil, nil, nil, nil)
	mux := http.NewServeMux()
	g.Register(mux)

	app := &store.App{ID: "a1", Name: "one", Key: "k1", CreatedAt: time.Now().UTC()}
	require.NoError(t, st.CreateApp(t.Context(), app))
	got, err := g.apps.get(t.Context(), st, "k1")
	require.NoError(t, err)
	require.Zero(t, got.Settings.AckTimeout)

	req := httptest.NewRequest(http.MethodPut, "/v1/apps/a1/settings", strings.NewReader(`{"ack_timeout_seconds": 42}`))
	req.Header.Set("Authorization", "Bearer admin")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	got, err = g.apps.get(t.Context(), st, "k1")
	require.NoError(t, err)
	require.Equal(t, 42*time.Second, got.Settings.AckTimeout, "the cached app was dropped")
}
