package wns_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/wnsfake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/conformance"
	"github.com/mopush/mopush/relay/internal/sendkit"
	"github.com/mopush/mopush/relay/wns"
)

const (
	packageSID   = "ms-app://S-1-15-2-2972962901-2322836549-3722629029-1345238579"
	clientSecret = "wns-client-secret"
)

func start(tb testing.TB) *wnsfake.Server {
	fake := wnsfake.New(wnsfake.Config{PackageSID: packageSID, ClientSecret: clientSecret})
	tb.Cleanup(fake.Close)
	return fake
}

func newSender(tb testing.TB, fake *wnsfake.Server, cfg wns.Config, opts ...wns.Option) *wns.Sender {
	cfg.PackageSID = packageSID
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = clientSecret
	}
	cfg.TokenURL = fake.TokenURL()
	cfg.AllowedHosts = []string{fake.Host()}
	s, err := wns.New(cfg, fake.Client(), opts...)
	require.NoError(tb, err)
	return s
}

func harness(tb testing.TB) conformance.Harness {
	fake := start(tb)
	return conformance.Harness{
		Vendor:         wns.Vendor,
		Sender:         newSender(tb, fake, wns.Config{}),
		BadCredentials: newSender(tb, fake, wns.Config{ClientSecret: "wrong"}),
		Token:          func(name string) string { return fake.ChannelURI("AwYAAAB+" + name) },
		DeadReasons: map[string]func(string){
			"410 channel expired": func(uri string) { fake.FailChannel(uri, wnsfake.ChannelExpired()) },
			"404 channel invalid": func(uri string) { fake.FailChannel(uri, wnsfake.ChannelInvalid()) },
		},
		FailNext: func(n, status int, after time.Duration) {
			fake.FailNext(n, vendorfake.Fault{Status: status, RetryAfter: after})
		},
		Accepted:           fake.Count,
		Requests:           fake.Requests,
		ExpireAccessTokens: fake.ExpireAccessTokens,
		AccessTokens:       fake.AccessTokens,
		SharedSender: func(shared sendkit.SharedTokens) relay.Sender {
			return newSender(tb, fake, wns.Config{}, wns.WithSharedTokens(shared))
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, harness)
}

func BenchmarkSend(b *testing.B) {
	conformance.Bench(b, harness)
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := wns.New(wns.Config{PackageSID: "ms-app://x"}, nil)
	require.Error(t, err)
	s, err := wns.New(wns.Config{PackageSID: "ms-app://x", ClientSecret: "s"}, nil)
	require.NoError(t, err)
	require.Equal(t, "wns", s.Vendor())
}

func TestToastContent(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, wns.Config{})
	m := conformance.Message(fake.ChannelURI("chan-1"))
	m.Title = `Sale <b>50%</b> & "more"`
	m.HighPriority = true
	m.ExpiresAt = time.Now().Add(time.Hour)
	res := conformance.SendOK(t, s, m)

	got := fake.Received()
	require.Len(t, got, 1)
	msg := got[0]
	require.Equal(t, msg.MsgID, res.VendorID)
	require.Equal(t, "chan-1", msg.Channel)
	require.Equal(t, "wns/toast", msg.Type)
	require.Equal(t, "text/xml", msg.ContentType)
	require.Equal(t, "order-42", msg.Tag)
	require.Equal(t, "1", msg.Priority)
	require.LessOrEqual(t, msg.TTL, time.Hour)
	require.Greater(t, msg.TTL, time.Hour-time.Minute)
	require.NotNil(t, msg.Toast)
	require.Equal(t, "ToastGeneric", msg.Toast.Binding.Template)
	require.Equal(t, []string{m.Title, m.Body}, msg.Toast.Binding.Text, "escaped in XML, intact after parsing")
	require.NotContains(t, string(msg.Body), "<b>")
	launch, err := url.ParseQuery(msg.Toast.Launch)
	require.NoError(t, err)
	require.Equal(t, "42", launch.Get("order"))
	require.Equal(t, "shipping", launch.Get("kind"))
}

func TestToastDefaultsAndLongTag(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, wns.Config{})
	plain := conformance.Message(fake.ChannelURI("chan-2"))
	plain.ExpiresAt, plain.CollapseID, plain.Data = time.Time{}, "", nil
	long := conformance.Message(fake.ChannelURI("chan-2"))
	long.CollapseID = "a-collapse-id-longer-than-sixteen"
	for _, m := range []*relay.Message{plain, long} {
		conformance.SendOK(t, s, m)
	}
	got := fake.Received()
	require.Equal(t, time.Duration(-1), got[0].TTL, "no expiry: no X-WNS-TTL")
	require.Empty(t, got[0].Tag)
	require.Empty(t, got[0].Priority)
	require.Empty(t, got[0].Toast.Launch)
	require.Len(t, got[1].Tag, 16)
}

func TestBackgroundIsRaw(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, wns.Config{})
	m := conformance.Message(fake.ChannelURI("chan-3"))
	m.Background = true
	conformance.SendOK(t, s, m)
	msg := fake.Received()[0]
	require.Equal(t, "wns/raw", msg.Type)
	require.Equal(t, "application/octet-stream", msg.ContentType)
	require.Empty(t, msg.Tag)
	var data map[string]string
	require.NoError(t, json.Unmarshal(msg.Body, &data))
	require.Equal(t, m.Data, data)
}

func TestOversizedPayloadRejectedWithoutCall(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, wns.Config{})
	m := conformance.Message(fake.ChannelURI("chan-4"))
	m.Body = strings.Repeat("x", 6000)
	_, err := s.Send(t.Context(), m)
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Zero(t, fake.Requests())
}

func TestChannelURIsOutsideWNSAreRefused(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, wns.Config{})
	for _, uri := range []string{
		strings.Replace(fake.ChannelURI("c"), "https://", "http://", 1),
		"https://attacker.example.com/?token=abc",
		"https://notify.windows.com.attacker.example/?token=abc",
		"https://user:pw@db5.notify.windows.com/?token=abc",
		"https://db5.notify.windows.com:8443/?token=abc",
		"::not a uri",
		"https:///?token=abc",
	} {
		_, err := s.Send(t.Context(), conformance.Message(uri))
		var dead *relay.DeadTokenError
		require.ErrorAs(t, err, &dead, uri)
		require.NotContains(t, err.Error(), uri)
	}
	require.Zero(t, fake.Requests())
	require.Zero(t, fake.AccessTokens(), "no token is fetched for a refused channel")
}

func TestStatusMapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		reply vendorfake.Fault
		check func(t *testing.T, err error)
	}{
		{"406 throttled retries after", wnsfake.Throttled(9 * time.Second), func(t *testing.T, err error) {
			after, ok := relay.IsRetryable(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, 9*time.Second, after)
		}},
		{"413 rejected", vendorfake.Fault{Status: 413}, func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrRejected)
		}},
		{"403 bad credentials", vendorfake.Fault{Status: 403}, func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrBadCredentials)
		}},
		{"400 rejected", vendorfake.Fault{Status: 400}, func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrRejected)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fake := start(t)
			s := newSender(t, fake, wns.Config{})
			fake.FailToken("chan-x", c.reply)
			_, err := s.Send(t.Context(), conformance.Message(fake.ChannelURI("chan-x")))
			require.NoError(t, conformance.CheckContract(err))
			c.check(t, err)
		})
	}
}

func TestRefusedTokenTwiceIsBadCredentials(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, wns.Config{})
	fake.FailToken("chan-401", vendorfake.Fault{Status: 401})
	_, err := s.Send(t.Context(), conformance.Message(fake.ChannelURI("chan-401")))
	require.ErrorIs(t, err, relay.ErrBadCredentials)
	require.Equal(t, 2, fake.AccessTokens())
}
