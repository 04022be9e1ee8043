package oppo_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake"
	"github.com/mopush/mopush/internal/vendorfake/oppofake"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/conformance"
	"github.com/mopush/mopush/relay/internal/sendkit"
	"github.com/mopush/mopush/relay/oppo"
)

const (
	appKey = "app-key-1"
	master = "master-secret-1"
)

func start(tb testing.TB) *oppofake.Server {
	fake := oppofake.New(oppofake.Config{AppKey: appKey, MasterSecret: master})
	tb.Cleanup(fake.Close)
	return fake
}

func newSender(tb testing.TB, fake *oppofake.Server, cfg oppo.Config, opts ...oppo.Option) *oppo.Sender {
	cfg.AppKey = appKey
	if cfg.MasterSecret == "" {
		cfg.MasterSecret = master
	}
	cfg.BaseURL = fake.URL()
	s, err := oppo.New(cfg, fake.Client(), opts...)
	require.NoError(tb, err)
	return s
}

func harness(tb testing.TB) conformance.Harness {
	fake := start(tb)
	return conformance.Harness{
		Vendor:         oppo.Vendor,
		Sender:         newSender(tb, fake, oppo.Config{ChannelID: "default"}),
		BadCredentials: newSender(tb, fake, oppo.Config{MasterSecret: "wrong"}),
		Token:          func(name string) string { return "CN_" + name },
		DeadReasons: map[string]func(string){
			"10000 Invalid Registration_id": func(tok string) { fake.FailToken(tok, oppofake.InvalidRegistrationID()) },
		},
		FailNext: func(n, status int, after time.Duration) {
			fake.FailNext(n, vendorfake.Fault{Status: status, RetryAfter: after})
		},
		Accepted:           fake.Count,
		Requests:           fake.Requests,
		ExpireAccessTokens: fake.ExpireAccessTokens,
		AccessTokens:       fake.AccessTokens,
		SharedSender: func(shared sendkit.SharedTokens) relay.Sender {
			return newSender(tb, fake, oppo.Config{ChannelID: "default"}, oppo.WithSharedTokens(shared))
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
	_, err := oppo.New(oppo.Config{AppKey: "k"}, nil)
	require.Error(t, err)
	s, err := oppo.New(oppo.Config{AppKey: "k", MasterSecret: "m"}, nil)
	require.NoError(t, err)
	require.Equal(t, "oppo", s.Vendor())
}

func TestNotificationContent(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, oppo.Config{ChannelID: "normal", HighPriorityChannelID: "urgent"})
	m := conformance.Message("CN_abc")
	m.HighPriority = true
	m.ExpiresAt = time.Now().Add(3 * time.Hour)
	res := conformance.SendOK(t, s, m)

	got := fake.Received()
	require.Len(t, got, 1)
	msg := got[0]
	require.Equal(t, msg.ID, res.VendorID)
	require.Equal(t, 2, msg.TargetType)
	require.Equal(t, "CN_abc", msg.TargetValue)
	n := msg.Notification
	require.Equal(t, m.Title, n.Title)
	require.Equal(t, m.Body, n.Content)
	require.Equal(t, "urgent", n.ChannelID)
	require.NotNil(t, n.OffLine)
	require.True(t, *n.OffLine)
	require.LessOrEqual(t, n.OffLineTTL, 3*3600)
	require.Greater(t, n.OffLineTTL, 3*3600-60)
	require.NotNil(t, n.NotifyID)
	require.Equal(t, sendkit.NotifyID("order-42"), *n.NotifyID)
	var params map[string]string
	require.NoError(t, json.Unmarshal([]byte(n.ActionParameters), &params))
	require.Equal(t, m.Data, params)
}

func TestTTLBounds(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, oppo.Config{})

	short := conformance.Message("CN_short")
	short.ExpiresAt = time.Now().Add(10 * time.Minute)
	long := conformance.Message("CN_long")
	long.ExpiresAt = time.Now().Add(30 * 24 * time.Hour)
	none := conformance.Message("CN_none")
	none.ExpiresAt, none.CollapseID = time.Time{}, ""
	for _, m := range []*relay.Message{short, long, none} {
		conformance.SendOK(t, s, m)
	}
	got := fake.Received()
	require.False(t, *got[0].Notification.OffLine, "under OPPO's one-hour minimum: online delivery only")
	require.Zero(t, got[0].Notification.OffLineTTL)
	require.Equal(t, 864000, got[1].Notification.OffLineTTL, "ten days at most")
	require.True(t, *got[2].Notification.OffLine)
	require.Zero(t, got[2].Notification.OffLineTTL, "no expiry: OPPO default")
	require.Nil(t, got[2].Notification.NotifyID)
}

func TestBackgroundRejectedWithoutCall(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, oppo.Config{})
	m := conformance.Message("CN_bg")
	m.Background = true
	_, err := s.Send(t.Context(), m)
	require.ErrorIs(t, err, relay.ErrRejected)
	require.Zero(t, fake.Requests())
}

func TestRefusedTokenTwiceIsBadCredentials(t *testing.T) {
	t.Parallel()
	fake := start(t)
	s := newSender(t, fake, oppo.Config{})
	fake.FailToken("CN_x", oppofake.Fault(oppofake.CodeInvalidAuthToken, "Invalid AuthToken"))
	_, err := s.Send(t.Context(), conformance.Message("CN_x"))
	require.ErrorIs(t, err, relay.ErrBadCredentials)
	require.Equal(t, 2, fake.AccessTokens(), "one refresh, then give up")
	require.Equal(t, 2, fake.Requests())
}

func TestVendorCodes(t *testing.T) {
	t.Parallel()
	retryable := func(t *testing.T, err error) {
		_, ok := relay.IsRetryable(err)
		require.True(t, ok, "%v", err)
	}
	cases := []struct {
		name  string
		reply vendorfake.Fault
		check func(t *testing.T, err error)
	}{
		{"flow control", oppofake.Fault(oppofake.CodeFlowControl, "Service in Flow Control"), retryable},
		{"unavailable", oppofake.Fault(oppofake.CodeUnavailable, "Service Currently Unavailable"), retryable},
		{"frequency limit", oppofake.Fault(oppofake.CodeFrequencyLimit, "App Call Frequency Limit"), retryable},
		{"daily limit waits for the reset", oppofake.Fault(oppofake.CodeDailyLimit, "The number of messages exceeds the daily limit"), func(t *testing.T, err error) {
			after, ok := relay.IsRetryable(err)
			require.True(t, ok)
			require.Positive(t, after)
		}},
		{"app disabled", oppofake.Fault(oppofake.CodeAppDisabled, "App Disabled"), func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrBadCredentials)
		}},
		{"invalid arguments", oppofake.Fault(oppofake.CodeInvalidArguments, "Invalid Arguments"), func(t *testing.T, err error) {
			require.ErrorIs(t, err, relay.ErrRejected)
		}},
		{"http 503 with code keeps Retry-After", vendorfake.Fault{Status: 503, Reason: "-1", RetryAfter: 4 * time.Second}, func(t *testing.T, err error) {
			after, ok := relay.IsRetryable(err)
			require.True(t, ok)
			require.Equal(t, 4*time.Second, after)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fake := start(t)
			s := newSender(t, fake, oppo.Config{})
			fake.FailToken("CN_x", c.reply)
			_, err := s.Send(t.Context(), conformance.Message("CN_x"))
			require.NoError(t, conformance.CheckContract(err))
			c.check(t, err)
		})
	}
}
