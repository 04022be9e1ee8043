package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/dispatcher"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
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
