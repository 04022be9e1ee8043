package apns

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/apnsfake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/conformance"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// harness wires a token-auth sender to a fresh fake for the shared relay
// conformance suite; its bad-credentials sender signs with a key the fake
// never issued, and its shared senders sign with the sender's key.
func harness(tb testing.TB) conformance.Harness { return newHarness(tb, false) }

// benchHarness is harness with a fake that counts but does not keep
// messages, so memory stays flat.
func benchHarness(tb testing.TB) conformance.Harness { return newHarness(tb, true) }

func newHarness(tb testing.TB, discard bool) conformance.Harness {
	f := newFake(tb, apnsfake.Config{})
	f.DiscardReceived(discard)
	other := newFake(tb, apnsfake.Config{})
	keyID, p8, err := other.IssueAuthKey("TEAM123456")
	require.NoError(tb, err)
	bad, err := New(Config{Topic: topic, Host: f.URL(), AuthKey: p8, KeyID: keyID, TeamID: "TEAM123456"},
		WithTLSConfig(f.TLSConfig()))
	require.NoError(tb, err)
	keyID, p8, err = f.IssueAuthKey("TEAM123456")
	require.NoError(tb, err)
	cfg := Config{Topic: topic, Host: f.URL(), AuthKey: p8, KeyID: keyID, TeamID: "TEAM123456"}
	sender := func(opts ...Option) relay.Sender {
		s, err := New(cfg, append([]Option{WithTLSConfig(f.TLSConfig())}, opts...)...)
		require.NoError(tb, err)
		tb.Cleanup(s.Close)
		return s
	}
	fail := func(reason string) func(string) {
		return func(tok string) { f.FailToken(tok, vendorfake.Fault{Reason: reason}) }
	}
	return conformance.Harness{
		Vendor:         Vendor,
		Sender:         sender(),
		BadCredentials: bad,
		Token: func(name string) string {
			sum := sha256.Sum256([]byte(name))
			return hex.EncodeToString(sum[:])
		},
		DeadReasons: map[string]func(string){
			"Unregistered":           fail("Unregistered"),
			"BadDeviceToken":         fail("BadDeviceToken"),
			"DeviceTokenNotForTopic": fail("DeviceTokenNotForTopic"),
		},
		FailNext: func(n, status int, retryAfter time.Duration) {
			f.FailNext(n, vendorfake.Fault{Status: status, RetryAfter: retryAfter})
		},
		Accepted:     f.Count,
		Requests:     f.Requests,
		AccessTokens: f.ProviderTokens,
		SharedSender: func(shared sendkit.SharedTokens) relay.Sender {
			return sender(WithSharedTokens(shared))
		},
	}
}

func TestConformance(t *testing.T) { conformance.Run(t, harness) }

func BenchmarkSend(b *testing.B) { conformance.Bench(b, benchHarness) }
