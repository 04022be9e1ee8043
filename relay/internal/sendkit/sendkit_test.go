package sendkit_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTokenCacheRenewsBeforeExpiry(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	var fetches atomic.Int32
	c := sendkit.NewTokenCache(func(context.Context) (sendkit.Token, error) {
		n := fetches.Add(1)
		return sendkit.Token{Value: string(rune('a' + n - 1)), Expiry: clk.now().Add(time.Hour)}, nil
	}, clk.now)

	tok, err := c.Get(t.Context())
	require.NoError(t, err)
	require.Equal(t, "a", tok)
	clk.advance(54 * time.Minute)
	tok, _ = c.Get(t.Context())
	require.Equal(t, "a", tok, "still fresh")
	clk.advance(2 * time.Minute)
	tok, _ = c.Get(t.Context())
	require.Equal(t, "b", tok, "renewed within five minutes of expiry")
	require.EqualValues(t, 2, fetches.Load())
}

func TestTokenCacheInvalidateOnlyCurrent(t *testing.T) {
	t.Parallel()
	var fetches atomic.Int32
	c := sendkit.NewTokenCache(func(context.Context) (sendkit.Token, error) {
		n := fetches.Add(1)
		return sendkit.Token{Value: string(rune('a' + n - 1)), Expiry: time.Now().Add(time.Hour)}, nil
	}, nil)
	a, _ := c.Get(t.Context())
	require.NoError(t, c.Invalidate(t.Context(), a))
	b, _ := c.Get(t.Context())
	require.NotEqual(t, a, b)
	require.NoError(t, c.Invalidate(t.Context(), a)) // stale: another caller already refreshed
	again, _ := c.Get(t.Context())
	require.Equal(t, b, again)
}

func TestTokenCacheOneFetchForConcurrentCallers(t *testing.T) {
	t.Parallel()
	var fetches atomic.Int32
	release := make(chan struct{})
	c := sendkit.NewTokenCache(func(context.Context) (sendkit.Token, error) {
		fetches.Add(1)
		<-release
		return sendkit.Token{Value: "t", Expiry: time.Now().Add(time.Hour)}, nil
	}, nil)
	var wg sync.WaitGroup
	toks := make([]string, 20)
	errs := make([]error, 20)
	for i := range toks {
		wg.Go(func() { toks[i], errs[i] = c.Get(t.Context()) })
	}
	close(release)
	wg.Wait()
	for i := range toks {
		require.NoError(t, errs[i])
		require.Equal(t, "t", toks[i])
	}
	require.EqualValues(t, 1, fetches.Load())
}

func TestTokenCacheWaiterHonoursContext(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	c := sendkit.NewTokenCache(func(context.Context) (sendkit.Token, error) {
		close(started)
		<-release
		return sendkit.Token{Value: "t", Expiry: time.Now().Add(time.Hour)}, nil
	}, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Get(context.Background())
	}()
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Get(ctx)
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	<-done
}

func TestSendWithTokenRetriesOnce(t *testing.T) {
	t.Parallel()
	var fetches atomic.Int32
	c := sendkit.NewTokenCache(func(context.Context) (sendkit.Token, error) {
		fetches.Add(1)
		return sendkit.Token{Value: "t", Expiry: time.Now().Add(time.Hour)}, nil
	}, nil)
	calls := 0
	_, err := sendkit.SendWithToken(t.Context(), c, func(context.Context, string) (int, error) {
		calls++
		return 0, sendkit.ErrTokenRefused
	})
	require.ErrorIs(t, err, relay.ErrBadCredentials)
	require.Equal(t, 2, calls)
	require.EqualValues(t, 2, fetches.Load())

	fetchErr := errors.New("boom")
	c2 := sendkit.NewTokenCache(func(context.Context) (sendkit.Token, error) { return sendkit.Token{}, fetchErr }, nil)
	_, err = sendkit.SendWithToken(t.Context(), c2, func(context.Context, string) (int, error) { return 1, nil })
	require.ErrorIs(t, err, fetchErr)
}

func TestRemaining(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m := &relay.Message{}
	d, err := sendkit.Remaining(m, now)
	require.NoError(t, err)
	require.Zero(t, d)
	m.ExpiresAt = now.Add(1500 * time.Millisecond)
	d, err = sendkit.Remaining(m, now)
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, d, "rounded up")
	m.ExpiresAt = now
	_, err = sendkit.Remaining(m, now)
	require.ErrorIs(t, err, relay.ErrExpired)
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	require.Zero(t, sendkit.RetryAfter(h, now))
	h.Set("Retry-After", "30")
	require.Equal(t, 30*time.Second, sendkit.RetryAfter(h, now))
	h.Set("Retry-After", now.Add(time.Minute).Format(http.TimeFormat))
	require.Equal(t, time.Minute, sendkit.RetryAfter(h, now))
	for _, bad := range []string{"-1", "soon", "999999999"} {
		h.Set("Retry-After", bad)
		require.Zero(t, sendkit.RetryAfter(h, now), bad)
	}
}

func TestStatusError(t *testing.T) {
	t.Parallel()
	now := time.Now()
	h := http.Header{"Retry-After": {"5"}}
	var retry *relay.RetryError
	require.ErrorAs(t, sendkit.StatusError("v", 429, h, now), &retry)
	require.Equal(t, 5*time.Second, retry.After)
	require.ErrorAs(t, sendkit.StatusError("v", 503, nil, now), &retry)
	require.ErrorIs(t, sendkit.StatusError("v", 401, nil, now), relay.ErrBadCredentials)
	require.ErrorIs(t, sendkit.StatusError("v", 413, nil, now), relay.ErrRejected)
}

func TestReasonMasksToken(t *testing.T) {
	t.Parallel()
	r := sendkit.Reason("bad token abc123\nagain abc123", "abc123")
	require.Equal(t, "bad token <token> again <token>", r)
	long := sendkit.Reason(string(make([]rune, 500)), "")
	require.LessOrEqual(t, len(long), 203)
	cut := sendkit.Reason(string([]rune("推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送推送")), "")
	require.True(t, json.Valid([]byte(`"`+cut+`"`)), "cut on a rune boundary")
}

func TestNotifyIDStable(t *testing.T) {
	t.Parallel()
	require.Equal(t, sendkit.NotifyID("a"), sendkit.NotifyID("a"))
	require.NotEqual(t, sendkit.NotifyID("a"), sendkit.NotifyID("b"))
	require.GreaterOrEqual(t, sendkit.NotifyID("x"), 0)
}

func TestCode(t *testing.T) {
	t.Parallel()
	var v struct {
		A, B, C, D sendkit.Code
	}
	require.NoError(t, json.Unmarshal([]byte(`{"A":80300007,"B":"-2","C":null,"D":""}`), &v))
	require.Equal(t, sendkit.Code{Value: 80300007, Set: true}, v.A)
	require.Equal(t, sendkit.Code{Value: -2, Set: true}, v.B)
	require.False(t, v.C.Set)
	require.False(t, v.D.Set)
	require.Error(t, json.Unmarshal([]byte(`{"A":"x"}`), &v))
}

func TestUntilQuotaReset(t *testing.T) {
	t.Parallel()
	// 15:30 UTC is 23:30 in China: half an hour to the reset.
	now := time.Date(2026, 3, 1, 15, 30, 0, 0, time.UTC)
	require.Equal(t, 30*time.Minute, sendkit.UntilQuotaReset(now))
	require.Equal(t, 24*time.Hour, sendkit.UntilQuotaReset(time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)))
}

func TestClamp(t *testing.T) {
	t.Parallel()
	require.Zero(t, sendkit.Clamp(0, time.Second, time.Hour))
	require.Equal(t, time.Second, sendkit.Clamp(time.Millisecond, time.Second, time.Hour))
	require.Equal(t, time.Hour, sendkit.Clamp(2*time.Hour, time.Second, time.Hour))
}

func TestTransportError(t *testing.T) {
	t.Parallel()
	err := sendkit.TransportError(t.Context(), "v", errors.New("dial"))
	var retry *relay.RetryError
	require.ErrorAs(t, err, &retry)
	require.Zero(t, retry.Status)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, sendkit.TransportError(ctx, "v", errors.New("x")), context.Canceled)
}
