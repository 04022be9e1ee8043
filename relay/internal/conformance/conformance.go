package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Harness is one sender wired to a fresh fake vendor.
type Harness struct {
	// Vendor is the name the sender reports and puts in its errors.
	Vendor string
	// Sender sends through the fake with valid credentials.
	Sender relay.Sender
	// BadCredentials sends through the same fake with wrong credentials.
	BadCredentials relay.Sender
	// Token returns a device token the fake accepts, one per name.
	Token func(name string) string
	// DeadReasons script the fake to declare a token dead; the key names the
	// vendor's reason.
	DeadReasons map[string]func(token string)
	// FailNext makes the fake answer the next n sends with an HTTP status
	// and, if retryAfter > 0, a Retry-After header.
	FailNext func(n, status int, retryAfter time.Duration)
	// Accepted returns how many messages the fake accepted.
	Accepted func() int
	// Requests returns how many send requests reached the fake.
	Requests func() int
	// ExpireAccessTokens makes the fake refuse every access token it issued
	// so far; nil for vendors without access tokens.
	ExpireAccessTokens func()
	// AccessTokens returns how many access tokens the fake issued (for
	// APNs, how many provider tokens it saw); nil for vendors without
	// tokens.
	AccessTokens func() int
	// SharedSender builds another sender with Sender's credentials that
	// keeps its token in shared, as a sender on another instance of the
	// cluster would; nil for vendors without tokens.
	SharedSender func(shared sendkit.SharedTokens) relay.Sender
}

// Factory builds a Harness on a new fake; the fake stops when tb ends.
type Factory func(tb testing.TB) Harness

// Message returns a typical notification for token, expiring in an hour.
func Message(token string) *relay.Message {
	return &relay.Message{
		PushID:     "push-1",
		DeviceID:   "device-1",
		Token:      token,
		Title:      "Order shipped",
		Body:       "Your parcel <#42> is on its way & arrives \"soon\"",
		Data:       map[string]string{"order": "42", "kind": "shipping"},
		CollapseID: "order-42",
		ExpiresAt:  time.Now().Add(time.Hour),
	}
}

// CheckContract returns nil if err is nil or one of the errors relay.Sender
// promises: *relay.DeadTokenError, *relay.RetryError, or an error wrapping
// relay.ErrBadCredentials, relay.ErrExpired or relay.ErrRejected.
func CheckContract(err error) error {
	if err == nil || relay.IsDeadToken(err) {
		return nil
	}
	if _, ok := relay.IsRetryable(err); ok {
		return nil
	}
	for _, want := range []error{relay.ErrBadCredentials, relay.ErrExpired, relay.ErrRejected} {
		if errors.Is(err, want) {
			return nil
		}
	}
	return fmt.Errorf("error outside the relay.Sender contract: %T %v", err, err)
}

// Run runs the conformance cases against harnesses made by newHarness.
func Run(t *testing.T, newHarness Factory) {
	cases := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"success", testSuccess},
		{"dead_token", testDeadToken},
		{"throttled_429_retry_after", testThrottled},
		{"server_error_retryable", testServerError},
		{"expired_not_sent", testExpired},
		{"bad_credentials", testBadCredentials},
		{"access_token_refresh", testRefresh},
		{"concurrent_50", testConcurrent},
		{"shared_token_across_instances", testSharedTokens},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newHarness(t))
		})
	}
}

func testSuccess(t *testing.T, h Harness) {
	require.Equal(t, h.Vendor, h.Sender.Vendor())
	_, err := h.Sender.Send(t.Context(), Message(h.Token("ok")))
	require.NoError(t, err)
	require.Equal(t, 1, h.Accepted())
}

func testDeadToken(t *testing.T, h Harness) {
	require.NotEmpty(t, h.DeadReasons)
	for reason, script := range h.DeadReasons {
		t.Run(reason, func(t *testing.T) {
			tok := h.Token("dead " + reason)
			script(tok)
			_, err := h.Sender.Send(t.Context(), Message(tok))
			var dead *relay.DeadTokenError
			require.ErrorAs(t, err, &dead)
			require.Equal(t, h.Vendor, dead.Vendor)
			require.NotEmpty(t, dead.Reason)
			require.NotContains(t, err.Error(), tok, "errors must not carry device tokens")
		})
	}
	_, err := h.Sender.Send(t.Context(), Message(""))
	require.True(t, relay.IsDeadToken(err), "empty token: %v", err)
	require.Zero(t, h.Accepted())
}

func testThrottled(t *testing.T, h Harness) {
	h.FailNext(1, 429, 7*time.Second)
	_, err := h.Sender.Send(t.Context(), Message(h.Token("throttled")))
	var retry *relay.RetryError
	require.ErrorAs(t, err, &retry)
	require.Equal(t, h.Vendor, retry.Vendor)
	require.Equal(t, 429, retry.Status)
	require.Equal(t, 7*time.Second, retry.After)

	_, err = h.Sender.Send(t.Context(), Message(h.Token("throttled")))
	require.NoError(t, err, "the fault was one-shot")
	require.Equal(t, 1, h.Accepted())
}

func testServerError(t *testing.T, h Harness) {
	for _, status := range []int{500, 502, 503} {
		h.FailNext(1, status, 0)
		_, err := h.Sender.Send(t.Context(), Message(h.Token("5xx")))
		after, ok := relay.IsRetryable(err)
		require.True(t, ok, "status %d: %v", status, err)
		require.Zero(t, after)
		var retry *relay.RetryError
		require.ErrorAs(t, err, &retry)
		require.Equal(t, status, retry.Status)
	}
	require.Zero(t, h.Accepted())
}

func testExpired(t *testing.T, h Harness) {
	m := Message(h.Token("late"))
	m.ExpiresAt = time.Now().Add(-time.Second)
	_, err := h.Sender.Send(t.Context(), m)
	require.ErrorIs(t, err, relay.ErrExpired)
	require.Zero(t, h.Requests(), "an expired message must not reach the vendor")
}

func testBadCredentials(t *testing.T, h Harness) {
	_, err := h.BadCredentials.Send(t.Context(), Message(h.Token("creds")))
	require.ErrorIs(t, err, relay.ErrBadCredentials)
	require.Zero(t, h.Accepted())
}

func testRefresh(t *testing.T, h Harness) {
	if h.ExpireAccessTokens == nil {
		t.Skipf("%s authenticates every request with a static secret", h.Vendor)
	}
	tok := h.Token("refresh")
	_, err := h.Sender.Send(t.Context(), Message(tok))
	require.NoError(t, err)
	_, err = h.Sender.Send(t.Context(), Message(tok))
	require.NoError(t, err)
	require.Equal(t, 1, h.AccessTokens(), "the access token is cached")

	h.ExpireAccessTokens()
	_, err = h.Sender.Send(t.Context(), Message(tok))
	require.NoError(t, err, "a refused access token is refreshed once")
	require.Equal(t, 2, h.AccessTokens())
	require.Equal(t, 3, h.Accepted())
}

func testConcurrent(t *testing.T, h Harness) {
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := Message(h.Token(fmt.Sprintf("device-%d", i)))
			m.PushID = fmt.Sprintf("push-%d", i)
			_, errs[i] = h.Sender.Send(t.Context(), m)
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "send %d", i)
	}
	require.Equal(t, n, h.Accepted())
	if h.AccessTokens != nil {
		require.Equal(t, 1, h.AccessTokens(), "concurrent senders share one access token fetch")
	}
}

// SendOK sends m and fails the test on error.
func SendOK(t *testing.T, s relay.Sender, m *relay.Message) relay.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	res, err := s.Send(ctx, m)
	require.NoError(t, err)
	return res
}
