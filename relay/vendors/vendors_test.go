package vendors_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store/tokencache"
	"github.com/mopush/mopush/internal/vendorfake/apnsfake"
	"github.com/mopush/mopush/internal/vendorfake/fcmfake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
	"github.com/mopush/mopush/relay/vendors"
)

// errShared is what recordingShared answers every Get with, so that a send
// stops before any network call.
var errShared = errors.New("shared token cache consulted")

// recordingShared is a SharedTokens that records the keys it is asked for.
type recordingShared struct {
	mu   sync.Mutex
	keys []string
}

var _ sendkit.SharedTokens = (*recordingShared)(nil)

func (r *recordingShared) Get(_ context.Context, key string, _ tokencache.RefreshFunc) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, key)
	return "", errShared
}

func (r *recordingShared) Invalidate(context.Context, string) error { return nil }

func (r *recordingShared) asked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keys...)
}

func p8(t testing.TB) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func credential(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestSharedTokensReachEverySender builds each vendor with tokens from
// Env.SharedTokens and checks that a send asks the shared cache, under a
// key named after the vendor that holds no secret.
func TestSharedTokensReachEverySender(t *testing.T) {
	t.Parallel()
	fcm := fcmfake.New(fcmfake.Config{})
	t.Cleanup(fcm.Close)
	sa, err := fcm.ServiceAccountJSON()
	require.NoError(t, err)
	cases := []struct {
		vendor, secret, device string
		cred                   map[string]any
	}{
		{"apns", "", "0a0b0c0d0e0f0a0b", map[string]any{"topic": "com.example.app", "auth_key": p8(t),
			"key_id": "KEY1234567", "team_id": "TEAM123456"}},
		{"fcm", "", "fcm-device", map[string]any{"service_account": json.RawMessage(sa)}},
		{"hms", "hms-secret", "hms-device", map[string]any{"app_id": "100000001", "app_secret": "hms-secret"}},
		{"honor", "honor-secret", "honor-device", map[string]any{"app_id": "104433", "client_id": "c1",
			"client_secret": "honor-secret"}},
		{"oppo", "oppo-secret", "oppo-device", map[string]any{"app_key": "k1", "master_secret": "oppo-secret"}},
		{"vivo", "vivo-secret", "vivo-device", map[string]any{"app_id": "10004", "app_key": "k1",
			"app_secret": "vivo-secret"}},
		{"wns", "wns-secret", "https://db5.notify.windows.com/?token=AwYAAAB", map[string]any{
			"package_sid": "ms-app://S-1-15-2-1", "client_secret": "wns-secret"}},
	}
	for _, tc := range cases {
		t.Run(tc.vendor, func(t *testing.T) {
			t.Parallel()
			shared := &recordingShared{}
			s, err := vendors.Build(tc.vendor, credential(t, tc.cred), vendors.Env{SharedTokens: shared})
			require.NoError(t, err)
			_, err = s.Send(t.Context(), &relay.Message{Token: tc.device, Title: "t", Body: "b"})
			require.ErrorIs(t, err, errShared)
			keys := shared.asked()
			require.Len(t, keys, 1)
			require.True(t, strings.HasPrefix(keys[0], tc.vendor+":"), keys[0])
			if tc.secret != "" {
				require.NotContains(t, keys[0], tc.secret)
			}
		})
	}
}

// TestSharedTokenKeys checks that one credential maps to one key wherever it
// is built, and that another secret under the same ids maps to another.
func TestSharedTokenKeys(t *testing.T) {
	t.Parallel()
	keyOf := func(cred map[string]any) string {
		shared := &recordingShared{}
		s, err := vendors.Build("hms", credential(t, cred), vendors.Env{SharedTokens: shared})
		require.NoError(t, err)
		_, err = s.Send(t.Context(), &relay.Message{Token: "hms-device", Title: "t"})
		require.ErrorIs(t, err, errShared)
		return shared.asked()[0]
	}
	a := keyOf(map[string]any{"app_id": "100000001", "app_secret": "secret-a"})
	require.Equal(t, a, keyOf(map[string]any{"app_id": "100000001", "app_secret": "secret-a"}))
	require.NotEqual(t, a, keyOf(map[string]any{"app_id": "100000001", "app_secret": "secret-b"}),
		"knowing an app's id is not enough to get its token")
	require.NotEqual(t, a, keyOf(map[string]any{"app_id": "100000002", "app_secret": "secret-a"}))
}

// TestAPNsCertificateHasNoSharedToken: certificate auth sends without
// asking the shared cache.
func TestAPNsCertificateHasNoSharedToken(t *testing.T) {
	t.Parallel()
	fake, err := apnsfake.New(apnsfake.Config{})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	certPEM, keyPEM, err := fake.IssueCertificate("com.example.app")
	require.NoError(t, err)
	shared := &recordingShared{}
	env := vendors.Env{Endpoints: map[string]vendors.Endpoint{"apns": {Base: fake.URL()}},
		APNsTLS: fake.TLSConfig(), SharedTokens: shared}
	cred := credential(t, map[string]any{"topic": "com.example.app", "certificate": append(certPEM, keyPEM...)})
	s, err := vendors.Build("apns", cred, env)
	require.NoError(t, err)
	t.Cleanup(func() { s.(interface{ Close() }).Close() })
	_, err = s.Send(t.Context(), &relay.Message{Token: "0a0b0c0d0e0f0a0b", Title: "t"})
	require.NoError(t, err)
	require.Equal(t, 1, fake.Count())
	require.Empty(t, shared.asked())
}
