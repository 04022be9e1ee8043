package honor_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/honorfake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/honor"
	"github.com/mopush/mopush/relay/internal/conformance"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

const (
	appID        = "104433"
	clientID     = "client-104433"
	clientSecret = "client-secret-honor"
)

func start(tb testing.TB) *honorfake.Server {
	fake := honorfake.New(honorfake.Config{AppID: appID, ClientID: clientID, ClientSecret: clientSecret})
	tb.Cleanup(fake.Close)
	return fake
}

func newSender(tb testing.TB, fake *honorfake.Server, cfg honor.Config, opts ...honor.Option) *honor.Sender {
	cfg.AppID, cfg.ClientID = appID, clientID
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = clientSecret
	}
	cfg.BaseURL, cfg.TokenURL = fake.URL(), fake.TokenURL()
	s, err := honor.New(cfg, fake.Client(), opts...)
	require.NoError(tb, err)
	return s
}

func harness(tb testing.TB) conformance.Harness {
	fake := start(tb)
	return conformance.Harness{
		Vendor:         honor.Vendor,
		Sender:         newSender(tb, fake, honor.Config{}),
		BadCredentials: newSender(tb, fake, honor.Config{ClientSecret: "wrong"}),
		Token:          func(name string) string { return "IQAAAACy0" + name },
		DeadReasons: map[string]func(string){
			"80300007 all tokens invalid": func(tok string) { fake.FailToken(tok, honorfake.AllTokensInvalid()) },
			"listed in expireTokens":      func(tok string) { fake.FailToken(tok, honorfake.ExpiredToken()) },
		},
		FailNext: func(n, status int, after time.Duration) {
			fake.FailNext(n, vendorfake.Fault{Status: status, RetryAfter: after})
		},
		Accepted:           fake.Count,
		Requests:           fake.Requests,
		ExpireAccessTokens: fake.ExpireAccessTokens,
		AccessTokens:       fake.AccessTokens,
		SharedSender: func(shared sendkit.SharedTokens) relay.Sender {
			return newSender(tb, fake, honor.Config{}, honor.WithSharedTokens(shared))
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
	_, err := honor.New(honor.Config{AppID: "1", ClientID: "c"}, nil)
	require.Error(t, err)
	s, err := honor.New(honor.Config{AppID: "1", ClientID: "c", ClientSecret: "s"}, nil)
	require.NoError(t, err)
	require.Equal(t, "honor", s.Vendor())
}

func TestNotificationContent(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, honor.Config{Importance: "LOW"})
	m := conformance.Message("IQ-abc")
	m.HighPriority = true
	m.ExpiresAt = time.Now().Add(2 * time.Hour)
	res := conformance.SendOK(t, s, m)

	got := fake.Received()
	require.Len(t, got, 1)
	msg := got[0]
	require.Equal(t, msg.RequestID, res.VendorID)
	require.Equal(t, []string{"IQ-abc"}, msg.Token)
	require.Equal(t, m.Title, msg.Notification.Title)
	require.Equal(t, m.Body, msg.Notification.Body)
	an := msg.Android.Notification
	require.Equal(t, m.Title, an.Title)
	require.Equal(t, m.Body, an.Body)
	require.Equal(t, "NORMAL", an.Importance, "high priority")
	require.Equal(t, 3, an.ClickAction.Type)
	require.Equal(t, sendkit.NotifyID("order-42"), *an.NotifyID)
	require.Equal(t, "order-42", an.Tag)
	require.LessOrEqual(t, msg.TTL, 2*time.Hour)
	require.Greater(t, msg.TTL, 2*time.Hour-time.Minute)
	var data map[string]string
	require.NoError(t, json.Unmarshal([]byte(msg.Data), &data))
	require.Equal(t, m.Data, data)
}

func TestDefaultsAndBackground(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, honor.Config{Importance: "LOW"})
	plain := conformance.Message("IQ-plain")
	plain.ExpiresAt, plain.CollapseID = time.Time{}, ""
	long := conformance.Message("IQ-long")
	long.ExpiresAt = time.Now().Add(40 * 24 * time.Hour)
	bg := conformance.Message("IQ-bg")
	bg.Background = true
	for _, m := range []*relay.Message{plain, long, bg} {
		conformance.SendOK(t, s, m)
	}
	got := fake.Received()
	require.Equal(t, "LOW", got[0].Android.Notification.Importance)
	require.Nil(t, got[0].Android.Notification.NotifyID)
	require.Zero(t, got[0].TTL, "no expiry: Honor default")
	require.Equal(t, 15*24*time.Hour, got[1].TTL, "fifteen days at most")
	require.Nil(t, got[2].Notification, "background is data only")
	require.Nil(t, got[2].Android.Notification)
	require.NotEmpty(t, got[2].Data)
}

func TestRefusedTokenTwiceIsBadCredentials(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, honor.Config{})
	fake.FailToken("IQ-x", vendorfake.Fault{Status: 401, Reason: "80200003", Message: "oauth token expired"})
	_, err := s.Send(t.Context(), conformance.Message("IQ-x"))
	require.ErrorIs(t, err, relay.ErrBadCredentials)
	require.Equal(t, 2, fake.AccessTokens())
}

func TestVendorCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		reply vendorfake.Fault
		check func(t *testing.T, err error)
	}{
		{"qps limit in body retries", vendorfake.Fault{Reason: "503", Message: "QPS limit", RetryAfter: 3 * time.Second}, func(t *testing.T, err error) {
			after, ok := relay.IsRetryable(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, 3*time.Second, after)
		}},
		{"internal error retries", honorfake.Fault(honorfake.CodeInternal, "internal error"), func(t *testing.T, err error) {
			_, ok := relay.IsRetryable(err)
			require.True(t, ok, "%v", err)
		}},
		{"too large is rejected", honorfake.Fault(honorfake.CodeMessageTooLarge, "message too large"), func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrRejected)
		}},
		{"failed token is rejected", vendorfake.Fault{Reason: honorfake.ReasonFailedToken}, func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrRejected)
		}},
		{"no permission is credentials", honorfake.Fault(80300002, "no permission"), func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrBadCredentials)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fake := start(t)
			s := newSender(t, fake, honor.Config{})
			fake.FailToken("IQ-x", c.reply)
			_, err := s.Send(t.Context(), conformance.Message("IQ-x"))
			require.NoError(t, conformance.CheckContract(err))
			c.check(t, err)
		})
	}
}
