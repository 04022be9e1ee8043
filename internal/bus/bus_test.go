package bus

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

func TestEmbeddedJetStream(t *testing.T) {
	b, err := Open(Config{Dir: t.TempDir()}, nil)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	require.Empty(t, b.ClientURL(), "in-process only by default")

	kv, err := b.JS.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "t", TTL: time.Minute})
	require.NoError(t, err)
	_, err = kv.Put(t.Context(), "k", []byte("v"))
	require.NoError(t, err)
	e, err := kv.Get(t.Context(), "k")
	require.NoError(t, err)
	require.Equal(t, "v", string(e.Value()))
}

func TestEmbeddedListensAndRemoteConnects(t *testing.T) {
	b, err := Open(Config{Dir: t.TempDir(), Listen: "127.0.0.1:-1"}, nil)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	require.NotEmpty(t, b.ClientURL())

	r, err := Open(Config{URL: b.ClientURL()}, nil)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	_, err = r.JS.AccountInfo(t.Context())
	require.NoError(t, err)
}

func TestRemoteUnreachableFailsFast(t *testing.T) {
	_, err := Open(Config{URL: "nats://127.0.0.1:1"}, nil)
	require.Error(t, err)
}

// The embedded server syncs every JetStream write by default, so that what
// a publisher was told is stored survives a power cut; a duration relaxes
// it, and anything else is refused.
func TestEmbeddedSync(t *testing.T) {
	b, err := Open(Config{Dir: t.TempDir()}, nil)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	cfg := b.srv.JetStreamConfig()
	require.NotNil(t, cfg)
	require.True(t, cfg.SyncAlways, "synced by default")

	relaxed, err := Open(Config{Dir: t.TempDir(), Sync: "2m"}, nil)
	require.NoError(t, err)
	t.Cleanup(relaxed.Close)
	cfg = relaxed.srv.JetStreamConfig()
	require.False(t, cfg.SyncAlways)
	require.Equal(t, 2*time.Minute, cfg.SyncInterval)

	for _, bad := range []string{"sometimes", "-1s", "0s"} {
		_, err := Open(Config{Dir: t.TempDir(), Sync: bad}, nil)
		require.ErrorIs(t, err, ErrBadSync, bad)
	}
}
