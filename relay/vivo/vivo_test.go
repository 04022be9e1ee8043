package vivo_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/vivofake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/conformance"
	"github.com/mopush/mopush/relay/internal/sendkit"
	"github.com/mopush/mopush/relay/vivo"
)

const (
	appID     = "10004"
	appKey    = "25509283-3767-4b9e-83fe-b6e55ac6243e"
	appSecret = "app-secret-vivo"
)

func start(tb testing.TB) *vivofake.Server {
	fake := vivofake.New(vivofake.Config{AppID: appID, AppKey: appKey, AppSecret: appSecret})
	tb.Cleanup(fake.Close)
	return fake
}

func newSender(tb testing.TB, fake *vivofake.Server, cfg vivo.Config, opts ...vivo.Option) *vivo.Sender {
	cfg.AppID, cfg.AppKey = appID, appKey
	if cfg.AppSecret == "" {
		cfg.AppSecret = appSecret
	}
	cfg.BaseURL = fake.URL()
	s, err := vivo.New(cfg, fake.Client(), opts...)
	require.NoError(tb, err)
	return s
}

func harness(tb testing.TB) conformance.Harness {
	fake := start(tb)
	return conformance.Harness{
		Vendor:         vivo.Vendor,
		Sender:         newSender(tb, fake, vivo.Config{}),
		BadCredentials: newSender(tb, fake, vivo.Config{AppSecret: "wrong"}),
		Token:          func(name string) string { return "v2-" + name },
		DeadReasons: map[string]func(string){
			"10302 regId invalid": func(tok string) { fake.FailToken(tok, vivofake.RegIDInvalid()) },
		},
		FailNext: func(n, status int, after time.Duration) {
			fake.FailNext(n, vendorfake.Fault{Status: status, RetryAfter: after})
		},
		Accepted:           fake.Count,
		Requests:           fake.Requests,
		ExpireAccessTokens: fake.ExpireAccessTokens,
		AccessTokens:       fake.AccessTokens,
		SharedSender: func(shared sendkit.SharedTokens) relay.Sender {
			return newSender(tb, fake, vivo.Config{}, vivo.WithSharedTokens(shared))
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
	_, err := vivo.New(vivo.Config{AppID: "1", AppKey: "k"}, nil)
	require.Error(t, err)
	_, err = vivo.New(vivo.Config{AppID: "abc", AppKey: "k", AppSecret: "s"}, nil)
	require.Error(t, err, "appId is numeric")
	s, err := vivo.New(vivo.Config{AppID: "1", AppKey: "k", AppSecret: "s"}, nil)
	require.NoError(t, err)
	require.Equal(t, "vivo", s.Vendor())
}

func TestNotificationContent(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, vivo.Config{})
	m := conformance.Message("v2-abc")
	m.HighPriority = true
	m.ExpiresAt = time.Now().Add(2 * time.Hour)
	res := conformance.SendOK(t, s, m)

	got := fake.Received()
	require.Len(t, got, 1)
	msg := got[0]
	require.Equal(t, msg.TaskID, res.VendorID)
	require.Equal(t, "v2-abc", msg.RegID)
	require.Equal(t, m.Title, msg.Title)
	require.Equal(t, m.Body, msg.Content)
	require.Equal(t, 4, msg.NotifyType)
	require.Equal(t, 1, msg.SkipType)
	require.Equal(t, 1, msg.Classification, "high priority is a system message")
	require.LessOrEqual(t, msg.TimeToLive, 7200)
	require.Greater(t, msg.TimeToLive, 7200-60)
	require.Equal(t, sendkit.NotifyID("order-42"), msg.NotifyID)
	require.Equal(t, m.Data, msg.ClientCustomMap)
	require.Len(t, msg.RequestID, 32)
}

func TestDefaultsAndTTLBounds(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, vivo.Config{NotifyType: 2})
	short := conformance.Message("v2-short")
	short.ExpiresAt = time.Now().Add(time.Minute)
	long := conformance.Message("v2-long")
	long.ExpiresAt = time.Now().Add(30 * 24 * time.Hour)
	none := conformance.Message("v2-none")
	none.ExpiresAt, none.CollapseID = time.Time{}, ""
	for _, m := range []*relay.Message{short, long, none} {
		conformance.SendOK(t, s, m)
	}
	got := fake.Received()
	require.Equal(t, 900, got[0].TimeToLive, "vivo's minimum")
	require.Equal(t, 7*24*3600, got[1].TimeToLive, "vivo's maximum")
	require.Zero(t, got[2].TimeToLive, "no expiry: vivo default")
	require.Zero(t, got[2].NotifyID)
	require.Zero(t, got[2].Classification)
	require.Equal(t, 2, got[2].NotifyType)
	require.NotEqual(t, got[0].RequestID, got[1].RequestID)
}

func TestBackgroundRejectedWithoutCall(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, vivo.Config{})
	m := conformance.Message("v2-bg")
	m.Background = true
	_, err := s.Send(t.Context(), m)
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Zero(t, fake.Requests())
}

func TestTooLongTitleRejected(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, vivo.Config{})
	m := conformance.Message("v2-long-title")
	m.Title = "订单已发货订单已发货订单已发货订单已发货订单" // 21 characters, 42 units
	_, err := s.Send(t.Context(), m)
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Zero(t, fake.Count())
}

func TestRefusedTokenTwiceIsBadCredentials(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, vivo.Config{})
	fake.FailToken("v2-x", vivofake.Fault(vivofake.CodeAuthFailed, "权限认证失败"))
	_, err := s.Send(t.Context(), conformance.Message("v2-x"))
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
		{"too fast retries", vivofake.Fault(vivofake.CodeTooFast, "发送速度过快"), func(t *testing.T, err error) {
			after, ok := relay.IsRetryable(err)
			require.True(t, ok, "%v", err)
			require.Zero(t, after)
		}},
		{"quota waits for the reset", vivofake.Fault(vivofake.CodeQuotaExceeded, "发送总量超出限制"), func(t *testing.T, err error) {
			after, ok := relay.IsRetryable(err)
			require.True(t, ok, "%v", err)
			require.Positive(t, after)
			require.LessOrEqual(t, after, 24*time.Hour)
		}},
		{"appId mismatch is credentials", vivofake.Fault(10094, "鉴权码与appId不一致"), func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrBadCredentials)
		}},
		{"sensitive content rejected", vivofake.Fault(10103, "推送内容含敏感信息"), func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrRejected)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fake := start(t)
			s := newSender(t, fake, vivo.Config{})
			fake.FailToken("v2-x", c.reply)
			_, err := s.Send(t.Context(), conformance.Message("v2-x"))
			require.NoError(t, conformance.CheckContract(err))
			c.check(t, err)
		})
	}
}
