package mongostore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/testsrv"
)

// TestServerKilled kills FerretDB under a store: calls fail with
// store.ErrUnavailable, bounded by Config.Timeout, and once the server is
// back on the same port and state directory the store works again and
// everything written before is there.
func TestServerKilled(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	srv := testsrv.StartMongo(t)
	s := openStore(t, Config{URI: srv.URI, Timeout: timeout})
	ctx := t.Context()

	app := &store.App{ID: ids.New(), Name: "kept", Key: ids.New(), CreatedAt: time.UnixMilli(time.Now().UnixMilli()).UTC()}
	require.NoError(t, s.CreateApp(ctx, app))
	push := &store.Push{ID: ids.New(), AppID: app.ID, Targets: []string{"d1"}}
	_, err := s.CreatePush(ctx, push, "idem-1")
	require.NoError(t, err)
	require.NoError(t, s.AddCounts(ctx, push.ID, store.Counts{Targeted: 1, Acked: 1}))

	srv.Kill()
	ss := s.Session()
	calls := map[string]func() error{
		"read": func() error { _, err := s.AppByID(ctx, app.ID); return err },
		"write": func() error {
			return s.AddCounts(ctx, push.ID, store.Counts{Acked: 1})
		},
		"create": func() error {
			_, err := s.CreatePush(ctx, &store.Push{ID: ids.New(), AppID: app.ID}, "")
			return err
		},
		"session": func() error { _, err := ss.Push(ctx, push.ID); return err },
		"put devices": func() error {
			return s.PutDevices(ctx, []*store.Device{{ID: ids.New(), AppID: app.ID}, {ID: ids.New(), AppID: app.ID}})
		},
	}
	for name, call := range calls {
		begin := time.Now()
		err := call()
		require.ErrorIs(t, err, store.ErrUnavailable, name)
		t.Logf("%s with the server down failed after %s (Timeout %s): %v",
			name, time.Since(begin).Round(time.Millisecond), timeout, err)
	}

	require.NoError(t, srv.Restart())
	testsrv.WaitFor(t, 30*time.Second, func() bool {
		_, err := s.AppByID(ctx, app.ID)
		return err == nil
	})
	got, err := s.AppByID(ctx, app.ID)
	require.NoError(t, err)
	require.Equal(t, app, got)
	p, err := s.Push(ctx, push.ID)
	require.NoError(t, err)
	require.Equal(t, store.Counts{Targeted: 1, Acked: 1}, p.Counts, "counts written before the kill")
	id, err := ss.CreatePush(ctx, &store.Push{ID: ids.New(), AppID: app.ID}, "idem-1")
	require.NoError(t, err)
	require.Equal(t, push.ID, id, "the idempotency key survived")
	pending, err := s.PendingPushes(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, []string{push.ID}, pending, "no call made while the server was down was stored")
	require.NoError(t, s.AddCounts(ctx, push.ID, store.Counts{Acked: 1}))
}
