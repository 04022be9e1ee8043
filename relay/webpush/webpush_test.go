package webpush

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/webpushfake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/conformance"
)

const subject = "mailto:ops@example.com"

func newFake(tb testing.TB, cfg webpushfake.Config) *webpushfake.Server {
	tb.Helper()
	f := webpushfake.New(cfg)
	tb.Cleanup(f.Close)
	return f
}

func newSender(tb testing.TB, f *webpushfake.Server, cfg Config) *Sender {
	tb.Helper()
	if cfg.VAPIDPrivateKey == "" {
		priv, _, err := GenerateVAPIDKeys()
		require.NoError(tb, err)
		cfg.VAPIDPrivateKey = priv
	}
	if cfg.Subject == "" {
		cfg.Subject = subject
	}
	s, err := New(cfg, WithHTTPClient(f.Client()))
	require.NoError(tb, err)
	return s
}

// subscribe makes a subscription restricted to s's key.
func subscribe(tb testing.TB, f *webpushfake.Server, s *Sender) string {
	tb.Helper()
	key, err := base64.RawURLEncoding.DecodeString(s.PublicKey())
	require.NoError(tb, err)
	tok, err := f.NewSubscription(key)
	require.NoError(tb, err)
	return tok
}

func endpoint(tb testing.TB, token string) string {
	tb.Helper()
	sub, err := ParseSubscription(token)
	require.NoError(tb, err)
	return sub.Endpoint
}

func TestSendDecryptsAtThePushService(t *testing.T) {
	t.Parallel()
	f := newFake(t, webpushfake.Config{})
	s := newSender(t, f, Config{})
	tok := subscribe(t, f, s)
	res, err := s.Send(t.Context(), &relay.Message{
		PushID: "P1", Token: tok, Title: "Hello", Body: "World", Data: map[string]string{"k": "v"},
		CollapseID: "chat-1", HighPriority: true, ExpiresAt: time.Now().Add(time.Hour),
	})
	require.NoError(t, err)
	m, ok := f.Last()
	require.True(t, ok)
	require.Equal(t, m.Location, res.VendorID)
	require.Equal(t, endpoint(t, tok), m.Endpoint)
	require.Equal(t, 3600, m.TTL)
	require.Equal(t, "high", m.Urgency)
	require.Equal(t, "chat-1", m.Topic)
	require.Equal(t, s.PublicKey(), m.VAPIDKey)
	require.Equal(t, subject, m.Subject)
	var p map[string]any
	require.NoError(t, json.Unmarshal(m.Plaintext, &p))
	require.Equal(t, map[string]any{"push_id": "P1", "title": "Hello", "body": "World",
		"data": map[string]any{"k": "v"}}, p)
}

func TestSendDefaultsAndBackground(t *testing.T) {
	t.Parallel()
	f := newFake(t, webpushfake.Config{})
	s := newSender(t, f, Config{DefaultTTL: 90 * time.Second})
	tok := subscribe(t, f, s)
	long := strings.Repeat("collapse id with spaces ", 3)
	_, err := s.Send(t.Context(), &relay.Message{Token: tok, Title: "hidden", Background: true, CollapseID: long})
	require.NoError(t, err)
	m, _ := f.Last()
	require.Equal(t, 90, m.TTL)
	require.Equal(t, "normal", m.Urgency)
	require.Len(t, m.Topic, 32)
	require.Equal(t, topic(long), m.Topic)
	require.JSONEq(t, `{}`, string(m.Plaintext))
}

func TestDeadTokens(t *testing.T) {
	t.Parallel()
	f := newFake(t, webpushfake.Config{})
	s := newSender(t, f, Config{})
	gone := subscribe(t, f, s)
	f.Unsubscribe(endpoint(t, gone))
	unknown := strings.Replace(subscribe(t, f, s), "/push/", "/push/X", 1)
	for name, tc := range map[string]struct {
		token, reason string
	}{
		"410 gone":            {gone, "410 Gone"},
		"404 unknown":         {unknown, "404 Not Found"},
		"not json":            {"{", "invalid subscription"},
		"http endpoint":       {`{"endpoint":"http://x/y","keys":{"p256dh":"` + rfcUAPublic + `","auth":"` + rfcAuth + `"}}`, "invalid subscription"},
		"short auth":          {`{"endpoint":"https://x/y","keys":{"p256dh":"` + rfcUAPublic + `","auth":"AAAA"}}`, "invalid subscription"},
		"p256dh not on curve": {`{"endpoint":"https://x/y","keys":{"p256dh":"BAAA","auth":"` + rfcAuth + `"}}`, "invalid subscription"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Send(t.Context(), &relay.Message{Token: tc.token, Title: "x"})
			var dead *relay.DeadTokenError
			require.ErrorAs(t, err, &dead)
			require.Equal(t, tc.reason, dead.Reason)
			require.NotContains(t, err.Error(), "/push/")
		})
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		after  time.Duration
	}{{429, 20 * time.Second}, {500, 0}, {503, 2 * time.Second}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, webpushfake.Config{})
			s := newSender(t, f, Config{})
			f.FailNext(1, vendorfake.Fault{Status: tc.status, RetryAfter: tc.after})
			_, err := s.Send(t.Context(), &relay.Message{Token: subscribe(t, f, s), Title: "x"})
			var re *relay.RetryError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tc.status, re.Status)
			require.Equal(t, tc.after, re.After)
		})
	}
}

func TestRejected(t *testing.T) {
	t.Parallel()
	f := newFake(t, webpushfake.Config{})
	s := newSender(t, f, Config{})
	tok := subscribe(t, f, s)
	_, err := s.Send(t.Context(), &relay.Message{Token: tok, Body: strings.Repeat("b", MaxPlaintext)})
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Zero(t, f.Requests(), "too large to encrypt: never sent")

	f.FailNext(1, vendorfake.Fault{Status: 413})
	_, err = s.Send(t.Context(), &relay.Message{Token: tok, Title: "x"})
	require.ErrorIs(t, err, relay.ErrRejected)

	small := newFake(t, webpushfake.Config{MaxBody: 100})
	s2 := newSender(t, small, Config{})
	_, err = s2.Send(t.Context(), &relay.Message{Token: subscribe(t, small, s2), Body: strings.Repeat("b", 200)})
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Contains(t, err.Error(), "413")

	limited := newSender(t, f, Config{AllowedHosts: []string{"push.example.net"}})
	_, err = limited.Send(t.Context(), &relay.Message{Token: tok, Title: "x"})
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Equal(t, 1, f.Requests(), "only the scripted 413 reached the push service")
}

func TestAllowedHostsMatchSubdomains(t *testing.T) {
	t.Parallel()
	s := &Sender{allowed: []string{"push.example.net", "127.0.0.1"}}
	require.True(t, s.hostAllowed("push.example.net"))
	require.True(t, s.hostAllowed("eu.push.example.net"))
	require.True(t, s.hostAllowed("127.0.0.1"))
	require.False(t, s.hostAllowed("evilpush.example.net"))
	require.False(t, s.hostAllowed("example.net"))
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	t.Run("subscription restricted to another key", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, webpushfake.Config{})
		owner := newSender(t, f, Config{})
		other := newSender(t, f, Config{})
		_, err := other.Send(t.Context(), &relay.Message{Token: subscribe(t, f, owner), Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Contains(t, err.Error(), "403")
	})
	t.Run("vapid token expired for the push service", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, webpushfake.Config{Now: func() time.Time { return time.Now().Add(48 * time.Hour) }})
		s := newSender(t, f, Config{})
		_, err := s.Send(t.Context(), &relay.Message{Token: subscribe(t, f, s), Title: "x"})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Contains(t, err.Error(), "401")
	})
}

func TestExpiredNeverReachesThePushService(t *testing.T) {
	t.Parallel()
	f := newFake(t, webpushfake.Config{})
	s := newSender(t, f, Config{})
	_, err := s.Send(t.Context(), &relay.Message{Token: subscribe(t, f, s), Title: "late", ExpiresAt: time.Now().Add(-time.Second)})
	require.ErrorIs(t, err, relay.ErrExpired)
	require.Zero(t, f.Requests())
}

func TestVAPIDTokenIsCachedPerOrigin(t *testing.T) {
	t.Parallel()
	priv, _, err := GenerateVAPIDKeys()
	require.NoError(t, err)
	v, err := newVAPID(priv, subject, time.Hour)
	require.NoError(t, err)
	now := time.Now()
	a, err := v.authorization("https://a.example", now)
	require.NoError(t, err)
	again, err := v.authorization("https://a.example", now.Add(20*time.Minute))
	require.NoError(t, err)
	require.Equal(t, a, again)
	other, err := v.authorization("https://b.example", now)
	require.NoError(t, err)
	require.NotEqual(t, a, other)
	renewed, err := v.authorization("https://a.example", now.Add(40*time.Minute))
	require.NoError(t, err)
	require.NotEqual(t, a, renewed)
	require.True(t, strings.HasPrefix(a, "vapid t="))
	require.True(t, strings.HasSuffix(a, ", k="+v.pub))
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	priv, pub, err := GenerateVAPIDKeys()
	require.NoError(t, err)
	_, err = New(Config{VAPIDPrivateKey: priv, Subject: "ops@example.com"})
	require.Error(t, err)
	_, err = New(Config{VAPIDPrivateKey: "not base64!", Subject: subject})
	require.Error(t, err)
	_, err = New(Config{VAPIDPrivateKey: base64.RawURLEncoding.EncodeToString(make([]byte, 32)), Subject: subject})
	require.Error(t, err)
	s, err := New(Config{VAPIDPrivateKey: priv, Subject: subject, VAPIDExpiry: 72 * time.Hour})
	require.NoError(t, err)
	require.Equal(t, pub, s.PublicKey())
	require.Equal(t, 24*time.Hour, s.vapid.life)
	require.Equal(t, DefaultTTL, s.ttl)
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	f := newFake(t, webpushfake.Config{})
	s := newSender(t, f, Config{})
	toks := make([]string, 50)
	for i := range toks {
		toks[i] = subscribe(t, f, s)
	}
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range 50 {
		wg.Go(func() {
			_, errs[i] = s.Send(t.Context(), &relay.Message{Token: toks[i], Title: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 50, f.Count())
}

func harness(tb testing.TB) conformance.Harness { return newHarness(tb, false) }

func benchHarness(tb testing.TB) conformance.Harness { return newHarness(tb, true) }

func newHarness(tb testing.TB, discard bool) conformance.Harness {
	f := newFake(tb, webpushfake.Config{})
	f.DiscardReceived(discard)
	s := newSender(tb, f, Config{})
	var mu sync.Mutex
	subs := map[string]string{}
	return conformance.Harness{
		Vendor:         Vendor,
		Sender:         s,
		BadCredentials: newSender(tb, f, Config{}),
		Token: func(name string) string {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := subs[name]; !ok {
				subs[name] = subscribe(tb, f, s)
			}
			return subs[name]
		},
		DeadReasons: map[string]func(string){
			"410 Gone":      func(tok string) { f.Unsubscribe(endpoint(tb, tok)) },
			"404 Not Found": func(tok string) { f.FailToken(endpoint(tb, tok), vendorfake.Fault{Status: 404}) },
		},
		FailNext: func(n, status int, retryAfter time.Duration) {
			f.FailNext(n, vendorfake.Fault{Status: status, RetryAfter: retryAfter})
		},
		Accepted: f.Count,
		Requests: f.Requests,
	}
}

func TestConformance(t *testing.T) { conformance.Run(t, harness) }

func BenchmarkSend(b *testing.B) { conformance.Bench(b, benchHarness) }
