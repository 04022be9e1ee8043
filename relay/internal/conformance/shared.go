package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store/tokencache"
	"github.com/mopush/mopush/internal/testsrv"
	"github.com/mopush/mopush/relay"
)

// SharedCaches starts a Redis for tb and returns n token caches on it, each
// on its own client as n relay processes would have, listening for each
// other's refreshes until tb ends.
func SharedCaches(tb testing.TB, n int) []*tokencache.Cache {
	tb.Helper()
	srv := testsrv.StartRedis(tb)
	caches := make([]*tokencache.Cache, n)
	for i := range caches {
		rdb, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
		require.NoError(tb, err)
		tb.Cleanup(rdb.Close)
		c, err := tokencache.New(tokencache.Config{PollMin: time.Millisecond, PollMax: 20 * time.Millisecond}, rdb)
		require.NoError(tb, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		tb.Cleanup(func() {
			cancel()
			require.NoError(tb, <-done)
		})
		caches[i] = c
	}
	return caches
}

// testSharedTokens sends at once through two senders of one credential on
// each of three instances that share tokens through Redis: the vendor
// issues one token for all of them. A token the vendor then refuses is
// replaced once.
func testSharedTokens(t *testing.T, h Harness) {
	if h.SharedSender == nil {
		t.Skipf("%s has no token to share", h.Vendor)
	}
	var senders []relay.Sender
	for _, c := range SharedCaches(t, 3) {
		senders = append(senders, h.SharedSender(c), h.SharedSender(c))
	}
	const n = 60
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		m := Message(h.Token(fmt.Sprintf("shared-%d", i)))
		m.PushID = fmt.Sprintf("push-%d", i)
		wg.Go(func() {
			<-start
			_, errs[i] = senders[i%len(senders)].Send(t.Context(), m)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "send %d", i)
	}
	require.Equal(t, n, h.Accepted())
	require.Equal(t, 1, h.AccessTokens(), "one token for every sender on every instance")

	if h.ExpireAccessTokens == nil {
		return
	}
	h.ExpireAccessTokens()
	_, err := senders[0].Send(t.Context(), Message(h.Token("after expiry")))
	require.NoError(t, err, "a refused shared token is replaced")
	require.Equal(t, 2, h.AccessTokens(), "replaced once")
}
