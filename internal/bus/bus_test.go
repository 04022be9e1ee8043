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
