package fcm

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/fcmfake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/conformance"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

func newFake(tb testing.TB) *fcmfake.Server {
	tb.Helper()
	f := fcmfake.New(fcmfake.Config{})
	tb.Cleanup(f.Close)
	return f
}

// newSender builds a sender on f: cfg's service account (default: a fresh
// key of f's) and endpoint (default: f).
func newSender(tb testing.TB, f *fcmfake.Server, cfg Config, opts ...Option) *Sender {
	tb.Helper()
	if cfg.ServiceAccountJSON == nil {
		sa, err := f.ServiceAccountJSON()
		require.NoError(tb, err)
		cfg.ServiceAccountJSON = sa
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = f.URL()
	}
	s, err := New(cfg, append([]Option{WithHTTPClient(f.Client())}, opts...)...)
	require.NoError(tb, err)
	return s
}

func TestSendNotification(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, Config{})
	res, err := s.Send(t.Context(), &relay.Message{
		PushID: "P1", Token: "tok-1", Title: "Hello", Body: "World", Data: map[string]string{"k": "v"},
		CollapseID: "chat-1", HighPriority: true, ExpiresAt: time.Now().Add(time.Hour),
	})
	require.NoError(t, err)
	m, ok := f.Last()
	require.True(t, ok)
	require.Equal(t, m.Name, res.VendorID)
	require.True(t, strings.HasPrefix(res.VendorID, "projects/mopush-test/messages/"))
	require.Equal(t, "tok-1", m.Token)
	require.Equal(t, &fcmfake.Notification{Title: "Hello", Body: "World"}, m.Notification)
	require.Equal(t, map[string]string{"k": "v", PushIDKey: "P1"}, m.Data)
	require.Equal(t, "chat-1", m.Android.CollapseKey)
	require.Equal(t, "HIGH", m.Android.Priority)
	require.Equal(t, "3600s", m.Android.TTL)
}

func TestSendBackgroundIsDataOnly(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, Config{})
	_, err := s.Send(t.Context(), &relay.Message{Token: "tok-2", Title: "ignored", Background: true,
		Data: map[string]string{"sync": "1"}})
	require.NoError(t, err)
	m, _ := f.Last()
	require.Nil(t, m.Notification)
	require.Equal(t, map[string]string{"sync": "1"}, m.Data)
	require.Equal(t, "NORMAL", m.Android.Priority)
	require.Empty(t, m.Android.TTL)
}

func TestTTLIsClampedToFourWeeks(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, Config{})
	_, err := s.Send(t.Context(), &relay.Message{Token: "tok", Title: "t", ExpiresAt: time.Now().Add(60 * 24 * time.Hour)})
	require.NoError(t, err)
	m, _ := f.Last()
	require.Equal(t, "2419200s", m.Android.TTL)
}

func TestDeadTokens(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, Config{})
	f.FailToken("gone", vendorfake.Fault{Reason: "UNREGISTERED"})
	f.FailToken("foreign", vendorfake.Fault{Reason: "SENDER_ID_MISMATCH"})
	for tok, reason := range map[string]string{
		"gone":          "UNREGISTERED",
		"foreign":       "SENDER_ID_MISMATCH",
		"not a token!!": "INVALID_ARGUMENT",
	} {
		t.Run(reason, func(t *testing.T) {
			t.Parallel()
			_, err := s.Send(t.Context(), &relay.Message{Token: tok, Title: "x"})
			var dead *relay.DeadTokenError
			require.ErrorAs(t, err, &dead)
			require.Equal(t, reason, dead.Reason)
			require.NotContains(t, err.Error(), tok)
		})
	}
	require.Zero(t, f.Count())
}

func TestRejectedMessage(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, Config{})
	_, err := s.Send(t.Context(), &relay.Message{Token: "tok", Title: "x", Data: map[string]string{"from": "me"}})
	require.ErrorIs(t, err, relay.ErrRejected)
	require.False(t, relay.IsDeadToken(err))
	_, err = s.Send(t.Context(), &relay.Message{Token: "tok", Body: strings.Repeat("b", 5000)})
	require.ErrorIs(t, err, relay.ErrRejected)
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code   string
		status int
		after  time.Duration
	}{
		{"QUOTA_EXCEEDED", 429, 30 * time.Second},
		{"UNAVAILABLE", 503, 5 * time.Second},
		{"INTERNAL", 500, 0},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			s := newSender(t, f, Config{})
			f.FailNext(1, vendorfake.Fault{Reason: tc.code, RetryAfter: tc.after})
			_, err := s.Send(t.Context(), &relay.Message{Token: "tok", Title: "x"})
			var re *relay.RetryError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tc.status, re.Status)
			require.Equal(t, tc.code, re.Reason)
			require.Equal(t, tc.after, re.After)
		})
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	t.Run("key unknown to the token endpoint", func(t *testing.T) {
		t.Parallel()
		f, other := newFake(t), newFake(t)
		sa, err := other.ServiceAccountJSON()
		require.NoError(t, err)
		s := newSender(t, f, Config{ServiceAccountJSON: sa, TokenURL: f.TokenURL()})
		_, err = s.Send(t.Context(), &relay.Message{Token: "tok", Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Contains(t, err.Error(), "invalid_grant")
		require.Zero(t, f.Requests())
	})
	t.Run("permission denied on another project", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		s := newSender(t, f, Config{ProjectID: "someone-else"})
		_, err := s.Send(t.Context(), &relay.Message{Token: "tok", Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Contains(t, err.Error(), "PERMISSION_DENIED")
	})
	t.Run("third party auth error", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		s := newSender(t, f, Config{})
		f.FailToken("ios", vendorfake.Fault{Reason: "THIRD_PARTY_AUTH_ERROR"})
		_, err := s.Send(t.Context(), &relay.Message{Token: "ios", Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
	})
	t.Run("401 after one refresh", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		s := newSender(t, f, Config{})
		f.FailToken("tok", vendorfake.Fault{Status: http.StatusUnauthorized})
		_, err := s.Send(t.Context(), &relay.Message{Token: "tok", Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Equal(t, 2, f.AccessTokens(), "one refresh, then give up")
		require.Equal(t, 2, f.Requests())
	})
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	resp := func(status int, h http.Header) *oauth2.RetrieveError {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status, Header: h},
			Body: []byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)}
	}
	after, ok := relay.IsRetryable(tokenError(ctx, resp(503, http.Header{"Retry-After": {"9"}})))
	require.True(t, ok)
	require.Equal(t, 9*time.Second, after)
	err := tokenError(ctx, resp(400, nil))
	require.ErrorIs(t, err, relay.ErrBadCredentials)
	require.Contains(t, err.Error(), "invalid_grant")
	_, ok = relay.IsRetryable(tokenError(ctx, fmt.Errorf("dial: refused")))
	require.True(t, ok)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, tokenError(cctx, fmt.Errorf("x")), context.Canceled)
}

func TestExpiredNeverReachesFCM(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, Config{})
	_, err := s.Send(t.Context(), &relay.Message{Token: "tok", Title: "late", ExpiresAt: time.Now().Add(-time.Minute)})
	require.ErrorIs(t, err, relay.ErrExpired)
	require.Zero(t, f.Requests())
	require.Zero(t, f.AccessTokens())
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	for name, sa := range map[string]string{
		"empty":      ``,
		"not json":   `{`,
		"wrong type": `{"type":"authorized_user","client_email":"a@b","private_key":"x"}`,
		"no email":   `{"type":"service_account","private_key":"x"}`,
		"bad key":    `{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`,
	} {
		_, err := New(Config{ServiceAccountJSON: []byte(sa)})
		require.Error(t, err, name)
	}
	f := newFake(t)
	sa, err := f.ServiceAccountJSON()
	require.NoError(t, err)
	s, err := New(Config{ServiceAccountJSON: sa})
	require.NoError(t, err)
	require.Equal(t, DefaultEndpoint+"/v1/projects/mopush-test/messages:send", s.sendURL)
	require.Equal(t, f.TokenURL(), s.jwt.TokenURL)
}

func TestConcurrentSendsShareOneToken(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, Config{})
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range 50 {
		wg.Go(func() {
			_, errs[i] = s.Send(t.Context(), &relay.Message{Token: fmt.Sprintf("tok-%d", i), Title: "x"})
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 50, f.Count())
	require.Equal(t, 1, f.AccessTokens())
}

func harness(tb testing.TB) conformance.Harness { return newHarness(tb, false) }

func benchHarness(tb testing.TB) conformance.Harness { return newHarness(tb, true) }

func newHarness(tb testing.TB, discard bool) conformance.Harness {
	f, other := newFake(tb), newFake(tb)
	f.DiscardReceived(discard)
	bad, err := other.ServiceAccountJSON()
	require.NoError(tb, err)
	sa, err := f.ServiceAccountJSON()
	require.NoError(tb, err)
	script := func(code string) func(string) {
		return func(tok string) { f.FailToken(tok, vendorfake.Fault{Reason: code}) }
	}
	return conformance.Harness{
		Vendor:         Vendor,
		Sender:         newSender(tb, f, Config{ServiceAccountJSON: sa}),
		BadCredentials: newSender(tb, f, Config{ServiceAccountJSON: bad, TokenURL: f.TokenURL()}),
		Token:          func(name string) string { return "fcm_" + strings.ReplaceAll(name, " ", "_") },
		DeadReasons: map[string]func(string){
			"UNREGISTERED":       script("UNREGISTERED"),
			"SENDER_ID_MISMATCH": script("SENDER_ID_MISMATCH"),
			"INVALID_ARGUMENT":   script("INVALID_ARGUMENT"),
		},
		FailNext: func(n, status int, retryAfter time.Duration) {
			f.FailNext(n, vendorfake.Fault{Status: status, RetryAfter: retryAfter})
		},
		Accepted:           f.Count,
		Requests:           f.Requests,
		ExpireAccessTokens: f.ExpireAccessTokens,
		AccessTokens:       f.AccessTokens,
		SharedSender: func(shared sendkit.SharedTokens) relay.Sender {
			return newSender(tb, f, Config{ServiceAccountJSON: sa}, WithSharedTokens(shared))
		},
	}
}

func TestConformance(t *testing.T) { conformance.Run(t, harness) }

func BenchmarkSend(b *testing.B) { conformance.Bench(b, benchHarness) }
