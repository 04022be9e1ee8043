package xiaomi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/xiaomifake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/conformance"
	"github.com/mopush/mopush/relay/internal/sendkit"
	"github.com/mopush/mopush/relay/xiaomi"
)

const (
	secret = "app-secret-123"
	pkg    = "com.example.app"
)

func start(tb testing.TB) *xiaomifake.Server {
	fake := xiaomifake.New(xiaomifake.Config{AppSecret: secret, PackageName: pkg})
	tb.Cleanup(fake.Close)
	return fake
}

func newSender(tb testing.TB, fake *xiaomifake.Server, cfg xiaomi.Config) *xiaomi.Sender {
	if cfg.AppSecret == "" {
		cfg.AppSecret = secret
	}
	cfg.PackageName = pkg
	cfg.BaseURL = fake.URL()
	s, err := xiaomi.New(cfg, fake.Client())
	require.NoError(tb, err)
	return s
}

func harness(tb testing.TB) conformance.Harness {
	fake := start(tb)
	return conformance.Harness{
		Vendor:         xiaomi.Vendor,
		Sender:         newSender(tb, fake, xiaomi.Config{ChannelID: "default"}),
		BadCredentials: newSender(tb, fake, xiaomi.Config{AppSecret: "wrong"}),
		Token:          func(name string) string { return "regid/" + name + "/XyZ+=" },
		DeadReasons: map[string]func(string){
			"20301 No valid targets": func(tok string) { fake.FailToken(tok, xiaomifake.NoValidTargets()) },
			"66007 invalid regId":    func(tok string) { fake.FailToken(tok, xiaomifake.InvalidRegID()) },
		},
		FailNext: func(n, status int, after time.Duration) {
			fake.FailNext(n, vendorfake.Fault{Status: status, RetryAfter: after})
		},
		Accepted: fake.Count,
		Requests: fake.Requests,
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
	_, err := xiaomi.New(xiaomi.Config{AppSecret: "s"}, nil)
	require.Error(t, err)
	_, err = xiaomi.New(xiaomi.Config{PackageName: "p"}, nil)
	require.Error(t, err)
	s, err := xiaomi.New(xiaomi.Config{AppSecret: "s", PackageName: "p"}, nil)
	require.NoError(t, err)
	require.Equal(t, "xiaomi", s.Vendor())
}

func TestNotificationContent(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, xiaomi.Config{ChannelID: "normal", HighPriorityChannelID: "urgent"})
	m := conformance.Message("regid-1")
	m.HighPriority = true
	m.ExpiresAt = time.Now().Add(90 * time.Minute)
	res := conformance.SendOK(t, s, m)

	got := fake.Received()
	require.Len(t, got, 1)
	msg := got[0]
	require.Equal(t, msg.ID, res.VendorID)
	require.Equal(t, "regid-1", msg.RegistrationID)
	require.Equal(t, pkg, msg.PackageName)
	require.Equal(t, m.Title, msg.Title)
	require.Equal(t, m.Body, msg.Description)
	require.False(t, msg.PassThrough)
	require.Equal(t, -1, msg.NotifyType)
	require.Equal(t, sendkit.NotifyID("collapse:order-42"), msg.NotifyID)
	require.Equal(t, "urgent", msg.Extra["channel_id"])
	require.Equal(t, "42", msg.Extra["order"])
	require.Equal(t, "shipping", msg.Extra["kind"])
	require.Greater(t, msg.TimeToLive, 89*time.Minute)
	require.LessOrEqual(t, msg.TimeToLive, 90*time.Minute)
}

func TestCollapseAndDefaults(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, xiaomi.Config{ChannelID: "normal"})

	a := conformance.Message("regid-2")
	a.CollapseID, a.PushID, a.ExpiresAt = "", "p1", time.Time{}
	b := conformance.Message("regid-2")
	b.CollapseID, b.PushID, b.ExpiresAt = "", "p2", time.Time{}
	c := conformance.Message("regid-2")
	d := conformance.Message("regid-2")
	for _, m := range []*relay.Message{a, b, c, d} {
		conformance.SendOK(t, s, m)
	}
	got := fake.Received()
	require.Len(t, got, 4)
	require.NotEqual(t, got[0].NotifyID, got[1].NotifyID, "separate pushes keep separate notifications")
	require.Equal(t, got[2].NotifyID, got[3].NotifyID, "one collapse id shares a slot")
	require.Zero(t, got[0].TimeToLive, "no expiry: MiPush default")
	require.Equal(t, "normal", got[0].Extra["channel_id"])
}

func TestLongTTLIsClamped(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, xiaomi.Config{})
	m := conformance.Message("regid-3")
	m.ExpiresAt = time.Now().Add(30 * 24 * time.Hour)
	conformance.SendOK(t, s, m)
	require.Equal(t, 14*24*time.Hour, fake.Received()[0].TimeToLive)
}

func TestBackgroundIsPassThrough(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, xiaomi.Config{})
	m := conformance.Message("regid-4")
	m.Background, m.Title, m.Body = true, "", ""
	conformance.SendOK(t, s, m)
	msg := fake.Received()[0]
	require.True(t, msg.PassThrough)
	var data map[string]string
	require.NoError(t, json.Unmarshal([]byte(msg.Payload), &data))
	require.Equal(t, m.Data, data)
}

func TestVendorCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		reply vendorfake.Fault
		check func(t *testing.T, err error)
	}{
		{"qps quota retries", xiaomifake.Fault(xiaomifake.CodeQPSQuota, "qps"), func(t *testing.T, err error) {
			_, ok := relay.IsRetryable(err)
			require.True(t, ok, "%v", err)
		}},
		{"too frequent retries", xiaomifake.Fault(xiaomifake.CodeTooFrequent, ""), func(t *testing.T, err error) {
			_, ok := relay.IsRetryable(err)
			require.True(t, ok, "%v", err)
		}},
		{"daily quota retries after the reset", xiaomifake.Fault(xiaomifake.CodeDailyQuota, ""), func(t *testing.T, err error) {
			after, ok := relay.IsRetryable(err)
			require.True(t, ok, "%v", err)
			require.Positive(t, after)
			require.LessOrEqual(t, after, 24*time.Hour)
		}},
		{"package mismatch is a credentials problem", xiaomifake.Fault(xiaomifake.CodeBadPackage, ""), func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrBadCredentials)
		}},
		{"bad parameter rejects the message", xiaomifake.Fault(xiaomifake.CodeBadParam, "invalid title"), func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrRejected)
		}},
		{"http 400 without code rejects", vendorfake.Fault{Status: 400}, func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrRejected)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fake := start(t)
			s := newSender(t, fake, xiaomi.Config{})
			fake.FailToken("regid-x", c.reply)
			_, err := s.Send(t.Context(), conformance.Message("regid-x"))
			require.NoError(t, conformance.CheckContract(err))
			c.check(t, err)
		})
	}
}

func TestNotificationNeedsTitle(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, xiaomi.Config{})
	m := conformance.Message("regid-5")
	m.Title = ""
	_, err := s.Send(t.Context(), m)
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Zero(t, fake.Count())
}
