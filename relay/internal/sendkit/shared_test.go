package sendkit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store/tokencache"
	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// fakeShared is a SharedTokens in memory that records how it is used.
type fakeShared struct {
	mu            sync.Mutex
	tokens        map[string]string
	expiries      map[string]time.Time
	gets          []string // keys asked for
	invalidations []string // keys discarded
	invalidateErr error
}

var _ sendkit.SharedTokens = (*fakeShared)(nil)

func newFakeShared() *fakeShared {
	return &fakeShared{tokens: map[string]string{}, expiries: map[string]time.Time{}}
}

func (f *fakeShared) Get(ctx context.Context, key string, refresh tokencache.RefreshFunc) (string, error) {
	f.mu.Lock()
	f.gets = append(f.gets, key)
	tok, ok := f.tokens[key]
	f.mu.Unlock()
	if ok {
		return tok, nil
	}
	tok, exp, err := refresh(ctx)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[key], f.expiries[key] = tok, exp
	return tok, nil
}

func (f *fakeShared) Invalidate(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidations = append(f.invalidations, key)
	if f.invalidateErr != nil {
		return f.invalidateErr
	}
	delete(f.tokens, key)
	return nil
}

func (f *fakeShared) record() (gets, invalidations []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.gets...), append([]string(nil), f.invalidations...)
}

// numbered returns a fetch that hands out t1, t2, … valid for an hour from
// base, and counts its calls.
func numbered(fetches *atomic.Int32, base time.Time) sendkit.FetchFunc {
	return func(context.Context) (sendkit.Token, error) {
		n := fetches.Add(1)
		return sendkit.Token{Value: "t" + string(rune('0'+n)), Expiry: base.Add(time.Duration(n) * time.Hour)}, nil
	}
}

func TestSharedTokenCacheDelegates(t *testing.T) {
	t.Parallel()
	shared := newFakeShared()
	var fetches atomic.Int32
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := sendkit.NewSharedTokenCache(numbered(&fetches, base), nil, shared, "fcm:abc")
	for range 3 {
		tok, err := c.Get(t.Context())
		require.NoError(t, err)
		require.Equal(t, "t1", tok)
	}
	gets, invalidations := shared.record()
	require.Equal(t, []string{"fcm:abc", "fcm:abc", "fcm:abc"}, gets, "every Get asks the shared cache")
	require.Empty(t, invalidations)
	require.EqualValues(t, 1, fetches.Load(), "the shared cache fetched once, with the sender's fetch")
	require.Equal(t, base.Add(time.Hour), shared.expiries["fcm:abc"], "the fetched expiry reaches the shared cache")
}

func TestSharedTokenCacheWithoutSharedIsLocal(t *testing.T) {
	t.Parallel()
	var fetches atomic.Int32
	c := sendkit.NewSharedTokenCache(numbered(&fetches, time.Now()), nil, nil, "fcm:abc")
	for range 3 {
		tok, err := c.Get(t.Context())
		require.NoError(t, err)
		require.Equal(t, "t1", tok)
	}
	require.EqualValues(t, 1, fetches.Load())
}

func TestSharedTokenCacheFetchError(t *testing.T) {
	t.Parallel()
	boom := errors.New("token endpoint down")
	c := sendkit.NewSharedTokenCache(func(context.Context) (sendkit.Token, error) { return sendkit.Token{}, boom },
		nil, newFakeShared(), "hms:abc")
	_, err := c.Get(t.Context())
	require.ErrorIs(t, err, boom)
}

func TestSendWithSharedTokenInvalidatesAndRetriesOnce(t *testing.T) {
	t.Parallel()
	t.Run("refused once", func(t *testing.T) {
		t.Parallel()
		shared := newFakeShared()
		var fetches atomic.Int32
		c := sendkit.NewSharedTokenCache(numbered(&fetches, time.Now()), nil, shared, "hms:abc")
		var used []string
		res, err := sendkit.SendWithToken(t.Context(), c, func(_ context.Context, tok string) (int, error) {
			used = append(used, tok)
			if tok == "t1" {
				return 0, sendkit.ErrTokenRefused
			}
			return 7, nil
		})
		require.NoError(t, err)
		require.Equal(t, 7, res)
		require.Equal(t, []string{"t1", "t2"}, used, "the retry got a new token")
		_, invalidations := shared.record()
		require.Equal(t, []string{"hms:abc"}, invalidations)
		require.EqualValues(t, 2, fetches.Load())
	})
	t.Run("refused twice", func(t *testing.T) {
		t.Parallel()
		shared := newFakeShared()
		var fetches atomic.Int32
		c := sendkit.NewSharedTokenCache(numbered(&fetches, time.Now()), nil, shared, "hms:abc")
		calls := 0
		_, err := sendkit.SendWithToken(t.Context(), c, func(context.Context, string) (int, error) {
			calls++
			return 0, sendkit.ErrTokenRefused
		})
		require.ErrorIs(t, err, relay.ErrBadCredentials)
		require.Equal(t, 2, calls, "one retry only")
		_, invalidations := shared.record()
		require.Len(t, invalidations, 1, "the second refusal is returned, not retried")
	})
}

func TestSharedInvalidateOncePerRefusedToken(t *testing.T) {
	t.Parallel()
	shared := newFakeShared()
	var fetches atomic.Int32
	c := sendkit.NewSharedTokenCache(numbered(&fetches, time.Now()), nil, shared, "wns:abc")
	t1, err := c.Get(t.Context())
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { require.NoError(t, c.Invalidate(t.Context(), t1)) })
	}
	wg.Wait()
	_, invalidations := shared.record()
	require.Len(t, invalidations, 1, "concurrent refusals of one token discard it once")

	t2, err := c.Get(t.Context())
	require.NoError(t, err)
	require.Equal(t, "t2", t2)
	require.NoError(t, c.Invalidate(t.Context(), t2))
	_, invalidations = shared.record()
	require.Len(t, invalidations, 2, "a later token is discarded again")
}

func TestSharedInvalidateErrorIsReturnedAndRetried(t *testing.T) {
	t.Parallel()
	shared := newFakeShared()
	boom := errors.New("redis down")
	shared.invalidateErr = boom
	var fetches atomic.Int32
	c := sendkit.NewSharedTokenCache(numbered(&fetches, time.Now()), nil, shared, "oppo:abc")
	t1, err := c.Get(t.Context())
	require.NoError(t, err)
	require.ErrorIs(t, c.Invalidate(t.Context(), t1), boom)

	shared.mu.Lock()
	shared.invalidateErr = nil
	shared.mu.Unlock()
	require.NoError(t, c.Invalidate(t.Context(), t1))
	_, invalidations := shared.record()
	require.Len(t, invalidations, 2, "a failed invalidation does not count as done")
	t2, err := c.Get(t.Context())
	require.NoError(t, err)
	require.Equal(t, "t2", t2)
}

func TestTokenKey(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-client-secret"
	k := sendkit.TokenKey("hms", "100000001", "https://oauth.example/token", secret)
	require.True(t, strings.HasPrefix(k, "hms:"))
	require.Len(t, k, len("hms:")+64)
	require.NotContains(t, k, secret)
	require.NotContains(t, k, "100000001")
	require.Equal(t, k, sendkit.TokenKey("hms", "100000001", "https://oauth.example/token", secret), "stable")
	for name, other := range map[string]string{
		"other secret":   sendkit.TokenKey("hms", "100000001", "https://oauth.example/token", "another"),
		"other id":       sendkit.TokenKey("hms", "100000002", "https://oauth.example/token", secret),
		"other endpoint": sendkit.TokenKey("hms", "100000001", "https://oauth2.example/token", secret),
		"other vendor":   sendkit.TokenKey("honor", "100000001", "https://oauth.example/token", secret),
		"parts shifted":  sendkit.TokenKey("hms", "100000001https://oauth.example/token", "", secret),
	} {
		require.NotEqual(t, k, other, name)
	}
}
