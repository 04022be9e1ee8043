package apns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sideshow/apns2/certificate"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/apnsfake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/conformance"
)

const topic = "com.example.app"

func newFake(t testing.TB, cfg apnsfake.Config) *apnsfake.Server {
	t.Helper()
	f, err := apnsfake.New(cfg)
	require.NoError(t, err)
	t.Cleanup(f.Close)
	return f
}

func tokenSender(t testing.TB, f *apnsfake.Server) *Sender {
	t.Helper()
	keyID, p8, err := f.IssueAuthKey("TEAM123456")
	require.NoError(t, err)
	s, err := New(Config{Topic: topic, Host: f.URL(), AuthKey: p8, KeyID: keyID, TeamID: "TEAM123456"},
		WithTLSConfig(f.TLSConfig()))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func deviceToken(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func TestSendAlert(t *testing.T) {
	t.Parallel()
	f := newFake(t, apnsfake.Config{Topics: []string{topic}})
	s := tokenSender(t, f)
	tok := deviceToken(t)
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	res, err := s.Send(t.Context(), &relay.Message{
		PushID: "P1", Token: tok, Title: "Hello", Body: "World",
		Data: map[string]string{"k": "v"}, CollapseID: "chat-1", HighPriority: true, ExpiresAt: exp,
	})
	require.NoError(t, err)
	n, ok := f.Last()
	require.True(t, ok)
	require.Equal(t, n.ApnsID, res.VendorID)
	require.Equal(t, tok, n.Token)
	require.Equal(t, topic, n.Topic)
	require.Equal(t, "alert", n.PushType)
	require.Equal(t, 10, n.Priority)
	require.Equal(t, "chat-1", n.CollapseID)
	require.Equal(t, exp.Unix(), n.Expiration)
	require.Equal(t, "token", n.Auth)
	require.Equal(t, "TEAM123456", n.TeamID)
	title, body := n.Alert()
	require.Equal(t, "Hello", title)
	require.Equal(t, "World", body)
	require.Equal(t, "v", n.Payload["k"])
	require.Equal(t, "P1", n.Payload[PushIDKey])
}

func TestSendBackgroundNormalPriority(t *testing.T) {
	t.Parallel()
	f := newFake(t, apnsfake.Config{})
	s := tokenSender(t, f)
	_, err := s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Background: true, HighPriority: true,
		Data: map[string]string{"aps": "dropped", "x": "1"}})
	require.NoError(t, err)
	n, _ := f.Last()
	require.Equal(t, "background", n.PushType)
	require.Equal(t, 5, n.Priority)
	require.Zero(t, n.Expiration)
	aps := n.Payload["aps"].(map[string]any)
	require.EqualValues(t, 1, aps["content-available"])
	require.NotContains(t, aps, "alert")
	require.Equal(t, "1", n.Payload["x"])

	_, err = s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "t"})
	require.NoError(t, err)
	n, _ = f.Last()
	require.Equal(t, 5, n.Priority)
}

func TestLongCollapseIDIsHashed(t *testing.T) {
	t.Parallel()
	f := newFake(t, apnsfake.Config{})
	s := tokenSender(t, f)
	long := strings.Repeat("c", 100)
	for range 2 {
		_, err := s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "t", CollapseID: long})
		require.NoError(t, err)
	}
	got := f.Received()
	require.Len(t, got[0].CollapseID, 64)
	require.Equal(t, got[0].CollapseID, got[1].CollapseID)
}

func TestSendCertificatePEM(t *testing.T) {
	t.Parallel()
	f := newFake(t, apnsfake.Config{})
	certPEM, keyPEM, err := f.IssueCertificate(topic)
	require.NoError(t, err)
	s, err := New(Config{Topic: topic, Host: f.URL(), Certificate: append(certPEM, keyPEM...)},
		WithTLSConfig(f.TLSConfig()))
	require.NoError(t, err)
	_, err = s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "cert"})
	require.NoError(t, err)
	n, _ := f.Last()
	require.Equal(t, "certificate", n.Auth)
	require.Equal(t, topic, n.Topic)
}

func TestSendCertificateP12(t *testing.T) {
	t.Parallel()
	p12, err := os.ReadFile("testdata/cert.p12")
	require.NoError(t, err)
	leaf, err := certificate.FromP12Bytes(p12, "secret")
	require.NoError(t, err)
	f := newFake(t, apnsfake.Config{})
	f.TrustCertificate(leaf.Leaf)
	s, err := New(Config{Topic: "com.example.p12app", Host: f.URL(), Certificate: p12, CertificatePassword: "secret"},
		WithTLSConfig(f.TLSConfig()))
	require.NoError(t, err)
	_, err = s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "p12"})
	require.NoError(t, err)
	n, _ := f.Last()
	require.Equal(t, "com.example.p12app", n.Topic)

	_, err = New(Config{Topic: "x", Certificate: p12, CertificatePassword: "wrong"})
	require.Error(t, err)
}

func TestDeadTokens(t *testing.T) {
	t.Parallel()
	f := newFake(t, apnsfake.Config{})
	s := tokenSender(t, f)
	cases := []struct {
		name, token, reason string
	}{
		{"unregistered", deviceToken(t), "Unregistered"},
		{"expired token", deviceToken(t), "ExpiredToken"},
		{"bad device token", "not-a-hex-token", "BadDeviceToken"},
		{"token not for topic", deviceToken(t), "DeviceTokenNotForTopic"},
	}
	for _, tc := range cases {
		if tc.reason != "BadDeviceToken" {
			f.FailToken(tc.token, vendorfake.Fault{Reason: tc.reason})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Send(t.Context(), &relay.Message{Token: tc.token, Title: "x"})
			var dead *relay.DeadTokenError
			require.ErrorAs(t, err, &dead)
			require.Equal(t, tc.reason, dead.Reason)
			require.Equal(t, Vendor, dead.Vendor)
			require.NotContains(t, err.Error(), tc.token)
		})
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fault  vendorfake.Fault
		status int
		after  time.Duration
	}{
		{"429 with retry-after", vendorfake.Fault{Reason: "TooManyRequests", RetryAfter: 7 * time.Second}, 429, 7 * time.Second},
		{"500", vendorfake.Fault{Reason: "InternalServerError"}, 500, 0},
		{"503 with retry-after", vendorfake.Fault{Reason: "ServiceUnavailable", RetryAfter: 3 * time.Second}, 503, 3 * time.Second},
		{"shutdown", vendorfake.Fault{Reason: "Shutdown"}, 503, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, apnsfake.Config{})
			s := tokenSender(t, f)
			f.FailNext(1, tc.fault)
			_, err := s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "x"})
			var re *relay.RetryError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tc.status, re.Status)
			require.Equal(t, tc.fault.Reason, re.Reason)
			require.Equal(t, tc.after, re.After)
			after, ok := relay.IsRetryable(err)
			require.True(t, ok)
			require.Equal(t, tc.after, after)
			// The fault was used up: the retry goes through.
			_, err = s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "x"})
			require.NoError(t, err)
		})
	}
}

func TestExpiredNeverReachesAPNs(t *testing.T) {
	t.Parallel()
	f := newFake(t, apnsfake.Config{})
	s := tokenSender(t, f)
	_, err := s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "late", ExpiresAt: time.Now().Add(-time.Second)})
	require.ErrorIs(t, err, relay.ErrExpired)
	require.Zero(t, f.Requests())
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	t.Run("unknown key", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, apnsfake.Config{})
		other := newFake(t, apnsfake.Config{})
		keyID, p8, err := other.IssueAuthKey("TEAM123456")
		require.NoError(t, err)
		s, err := New(Config{Topic: topic, Host: f.URL(), AuthKey: p8, KeyID: keyID, TeamID: "TEAM123456"},
			WithTLSConfig(f.TLSConfig()))
		require.NoError(t, err)
		_, err = s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Contains(t, err.Error(), "InvalidProviderToken")
	})
	t.Run("revoked key", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, apnsfake.Config{})
		keyID, p8, err := f.IssueAuthKey("TEAM123456")
		require.NoError(t, err)
		f.RevokeAuthKey(keyID)
		s, err := New(Config{Topic: topic, Host: f.URL(), AuthKey: p8, KeyID: keyID, TeamID: "TEAM123456"},
			WithTLSConfig(f.TLSConfig()))
		require.NoError(t, err)
		_, err = s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
	})
	t.Run("expired provider token", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, apnsfake.Config{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
		s := tokenSender(t, f)
		_, err := s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Contains(t, err.Error(), "ExpiredProviderToken")
	})
	t.Run("foreign certificate", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, apnsfake.Config{})
		other := newFake(t, apnsfake.Config{})
		certPEM, keyPEM, err := other.IssueCertificate(topic)
		require.NoError(t, err)
		s, err := New(Config{Topic: topic, Host: f.URL(), Certificate: append(certPEM, keyPEM...)},
			WithTLSConfig(f.TLSConfig()))
		require.NoError(t, err)
		_, err = s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Contains(t, err.Error(), "BadCertificate")
	})
}

func TestRejected(t *testing.T) {
	t.Parallel()
	f := newFake(t, apnsfake.Config{Topics: []string{"com.example.other"}})
	s := tokenSender(t, f)
	_, err := s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: "x"})
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Contains(t, err.Error(), "TopicDisallowed")

	f2 := newFake(t, apnsfake.Config{})
	s2 := tokenSender(t, f2)
	_, err = s2.Send(t.Context(), &relay.Message{Token: deviceToken(t), Body: strings.Repeat("b", 5000)})
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Contains(t, err.Error(), "PayloadTooLarge")
	require.False(t, relay.IsDeadToken(err))
}

func TestTransportErrorIsRetryableWithoutToken(t *testing.T) {
	t.Parallel()
	f := newFake(t, apnsfake.Config{})
	s := tokenSender(t, f)
	f.Close()
	tok := deviceToken(t)
	_, err := s.Send(t.Context(), &relay.Message{Token: tok, Title: "x"})
	var re *relay.RetryError
	require.ErrorAs(t, err, &re)
	require.Zero(t, re.Status)
	require.NotContains(t, err.Error(), tok)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = s.Send(ctx, &relay.Message{Token: tok, Title: "x"})
	require.ErrorIs(t, err, context.Canceled)
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	_, err := New(Config{})
	require.Error(t, err)
	_, err = New(Config{Topic: topic})
	require.Error(t, err)
	_, err = New(Config{Topic: topic, AuthKey: []byte("junk"), KeyID: "k", TeamID: "t"})
	require.Error(t, err)
	_, err = New(Config{Topic: topic, AuthKey: []byte("junk")})
	require.Error(t, err)
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	f := newFake(t, apnsfake.Config{})
	s := tokenSender(t, f)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			_, err := s.Send(t.Context(), &relay.Message{Token: deviceToken(t), Title: fmt.Sprint(i)})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 50, f.Count())
}

func TestClassifyContract(t *testing.T) {
	t.Parallel()
	require.True(t, relay.IsDeadToken(classify(410, "Unregistered", nil)))
	require.ErrorIs(t, classify(403, "", nil), relay.ErrBadCredentials)
	require.ErrorIs(t, classify(400, "BadTopic", nil), relay.ErrRejected)
	require.ErrorIs(t, classify(404, "BadPath", nil), relay.ErrRejected)
	after, ok := relay.IsRetryable(classify(502, "", http.Header{"Retry-After": {"120"}}))
	require.True(t, ok)
	require.Equal(t, 2*time.Minute, after)
}

func FuzzClassify(f *testing.F) {
	f.Add(410, "Unregistered", "")
	f.Add(429, "TooManyRequests", "10")
	f.Add(403, "InvalidProviderToken", "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(400, "BadTopic", "x")
	f.Fuzz(func(t *testing.T, status int, reason, retryAfter string) {
		err := classify(status, reason, http.Header{"Retry-After": {retryAfter}})
		if cerr := conformance.CheckContract(err); cerr != nil || err == nil {
			t.Fatalf("classify(%d, %q) = %v", status, reason, err)
		}
		if after, _ := relay.IsRetryable(err); after < 0 {
			t.Fatalf("negative retry-after %v", after)
		}
	})
}
