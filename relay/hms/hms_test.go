package hms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/hmsfake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/conformance"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

func newFake(tb testing.TB) *hmsfake.Server {
	tb.Helper()
	f := hmsfake.New(hmsfake.Config{})
	tb.Cleanup(f.Close)
	return f
}

func newSender(tb testing.TB, f *hmsfake.Server, secret string, opts ...Option) *Sender {
	tb.Helper()
	if secret == "" {
		secret = f.AppSecret()
	}
	s, err := New(Config{AppID: f.AppID(), AppSecret: secret, Endpoint: f.URL(), OAuthURL: f.URL()},
		append([]Option{WithHTTPClient(f.Client())}, opts...)...)
	require.NoError(tb, err)
	return s
}

const device = "IQAAAACy0kYkAAB-hms-device-token-1"

func TestSendNotification(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, "")
	res, err := s.Send(t.Context(), &relay.Message{
		PushID: "P1", Token: device, Title: "Hello", Body: "World", Data: map[string]string{"k": "v"},
		CollapseID: "chat-1", HighPriority: true, ExpiresAt: time.Now().Add(2 * time.Hour),
	})
	require.NoError(t, err)
	m, ok := f.Last()
	require.True(t, ok)
	require.Equal(t, m.RequestID, res.VendorID)
	require.Equal(t, []string{device}, m.Tokens)
	var data map[string]string
	require.NoError(t, json.Unmarshal([]byte(m.Data), &data))
	require.Equal(t, map[string]string{"k": "v", PushIDKey: "P1"}, data)
	a := m.Android
	require.Equal(t, "7200s", a.TTL)
	require.Equal(t, "P1", a.BiTag)
	require.Empty(t, a.Urgency)
	require.Equal(t, "Hello", a.Notification.Title)
	require.Equal(t, "World", a.Notification.Body)
	require.Equal(t, "chat-1", a.Notification.Tag)
	require.Equal(t, 3, a.Notification.ClickAction.Type)
}

func TestSendBackgroundIsDataMessage(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, "")
	for _, high := range []bool{true, false} {
		_, err := s.Send(t.Context(), &relay.Message{Token: device, Background: true, HighPriority: high})
		require.NoError(t, err)
		m, _ := f.Last()
		require.Nil(t, m.Android.Notification)
		require.Equal(t, "{}", m.Data)
		require.Equal(t, map[bool]string{true: "HIGH", false: "NORMAL"}[high], m.Android.Urgency)
	}
}

func TestDeadTokens(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, "")
	f.FailToken("scripted-dead-token", vendorfake.Fault{Reason: hmsfake.CodeAllTokensInvalid})
	f.FailToken("partial-dead-token", vendorfake.Fault{Reason: hmsfake.CodePartialSuccess,
		Message: `{"success":0,"failure":1,"illegal_tokens":["partial-dead-token"]}`})
	for _, tok := range []string{"bad token!", "scripted-dead-token", "partial-dead-token"} {
		_, err := s.Send(t.Context(), &relay.Message{Token: tok, Title: "x"})
		var dead *relay.DeadTokenError
		require.ErrorAs(t, err, &dead, tok)
		require.NotContains(t, err.Error(), tok)
	}
	require.Zero(t, f.Count())
}

func TestRejected(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, "")
	_, err := s.Send(t.Context(), &relay.Message{Token: device, Body: strings.Repeat("b", 5000)})
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Contains(t, err.Error(), "80300008")
	f.FailNext(1, vendorfake.Fault{Reason: hmsfake.CodeTTLPassed})
	_, err = s.Send(t.Context(), &relay.Message{Token: device, Title: "x"})
	require.ErrorIs(t, err, relay.ErrExpired)
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fault  vendorfake.Fault
		status int
		after  time.Duration
	}{
		{"81000001 internal error", vendorfake.Fault{Reason: hmsfake.CodeInternal}, 500, 0},
		{"503 flow control", vendorfake.Fault{Status: 503, RetryAfter: 4 * time.Second}, 503, 4 * time.Second},
		{"429", vendorfake.Fault{Status: 429, RetryAfter: 11 * time.Second}, 429, 11 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			s := newSender(t, f, "")
			f.FailNext(1, tc.fault)
			_, err := s.Send(t.Context(), &relay.Message{Token: device, Title: "x"})
			var re *relay.RetryError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tc.status, re.Status)
			require.Equal(t, tc.after, re.After)
		})
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		s := newSender(t, f, "not-the-secret")
		_, err := s.Send(t.Context(), &relay.Message{Token: device, Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Contains(t, err.Error(), "1101")
		require.NotContains(t, err.Error(), "not-the-secret")
		require.Zero(t, f.Requests())
	})
	t.Run("token refused twice", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		s := newSender(t, f, "")
		f.FailToken(device, vendorfake.Fault{Reason: hmsfake.CodeTokenExpired})
		_, err := s.Send(t.Context(), &relay.Message{Token: device, Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Equal(t, 2, f.AccessTokens(), "refreshed once, then gave up")
		require.Equal(t, 2, f.Requests())
	})
	t.Run("no push permission", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		s := newSender(t, f, "")
		f.FailNext(1, vendorfake.Fault{Reason: hmsfake.CodeNoPermission})
		_, err := s.Send(t.Context(), &relay.Message{Token: device, Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Equal(t, 1, f.AccessTokens())
	})
}

func TestRefreshOnExpiredToken(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, "")
	_, err := s.Send(t.Context(), &relay.Message{Token: device, Title: "x"})
	require.NoError(t, err)
	f.ExpireAccessTokens()
	_, err = s.Send(t.Context(), &relay.Message{Token: device, Title: "y"})
	require.NoError(t, err)
	require.Equal(t, 2, f.AccessTokens())
	require.Equal(t, 3, f.Requests())
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	resp := func(status int, h http.Header) *oauth2.RetrieveError {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status, Header: h},
			Body: []byte(`{"error":1101,"error_description":"invalid client"}`)}
	}
	after, ok := relay.IsRetryable(tokenError(ctx, resp(502, http.Header{"Retry-After": {"3"}})))
	require.True(t, ok)
	require.Equal(t, 3*time.Second, after)
	require.ErrorIs(t, tokenError(ctx, resp(401, nil)), relay.ErrBadCredentials)
	_, ok = relay.IsRetryable(tokenError(ctx, fmt.Errorf("dial: refused")))
	require.True(t, ok)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, tokenError(cctx, fmt.Errorf("x")), context.Canceled)
}

func TestExpiredNeverReachesHMS(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, "")
	_, err := s.Send(t.Context(), &relay.Message{Token: device, Title: "late", ExpiresAt: time.Now().Add(-time.Minute)})
	require.ErrorIs(t, err, relay.ErrExpired)
	require.Zero(t, f.Requests())
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	_, err := New(Config{AppID: "1"})
	require.Error(t, err)
	s, err := New(Config{AppID: "1", AppSecret: "s"})
	require.NoError(t, err)
	require.Equal(t, DefaultEndpoint+"/v1/1/messages:send", s.sendURL)
	require.Equal(t, DefaultOAuthURL+"/oauth2/v3/token", s.oauth.TokenURL)
}

func TestConcurrentSendsShareOneToken(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSender(t, f, "")
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range 50 {
		wg.Go(func() {
			_, errs[i] = s.Send(t.Context(), &relay.Message{Token: fmt.Sprintf("%s-%d", device, i), Title: "x"})
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
	f := newFake(tb)
	f.DiscardReceived(discard)
	script := func(f2 vendorfake.Fault) func(string) {
		return func(tok string) { f.FailToken(tok, f2) }
	}
	return conformance.Harness{
		Vendor:         Vendor,
		Sender:         newSender(tb, f, ""),
		BadCredentials: newSender(tb, f, "wrong-secret"),
		Token:          func(name string) string { return "hms-" + strings.ReplaceAll(name, " ", "-") + "-token" },
		DeadReasons: map[string]func(string){
			"80300007": script(vendorfake.Fault{Reason: hmsfake.CodeAllTokensInvalid}),
			"80100000": script(vendorfake.Fault{Reason: hmsfake.CodePartialSuccess,
				Message: `{"success":0,"failure":1,"illegal_tokens":[]}`}),
		},
		FailNext: func(n, status int, retryAfter time.Duration) {
			f.FailNext(n, vendorfake.Fault{Status: status, RetryAfter: retryAfter})
		},
		Accepted:           f.Count,
		Requests:           f.Requests,
		ExpireAccessTokens: f.ExpireAccessTokens,
		AccessTokens:       f.AccessTokens,
		SharedSender: func(shared sendkit.SharedTokens) relay.Sender {
			return newSender(tb, f, "", WithSharedTokens(shared))
		},
	}
}

func TestConformance(t *testing.T) { conformance.Run(t, harness) }

func BenchmarkSend(b *testing.B) { conformance.Bench(b, benchHarness) }
