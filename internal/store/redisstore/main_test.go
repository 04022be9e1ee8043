package redisstore

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mopush/mopush/internal/testsrv"
)

// shared holds two Redis servers that the tests of the package use as
// shards, started once in TestMain; each test keeps to keys under a prefix
// of its own. Tests that kill a server start their own.
var shared struct {
	redis []*testsrv.Redis
	err   error
	next  atomic.Int64
}

func TestMain(m *testing.M) {
	for range 2 {
		r, err := testsrv.LaunchRedis()
		if err != nil {
			shared.err = err
			break
		}
		shared.redis = append(shared.redis, r)
	}
	code := m.Run()
	for _, r := range shared.redis {
		if err := r.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop redis:", err)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(rueidisReconnectPause); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// rueidisReconnectPause is the bounded pause (under a second) that a
// rueidis client takes before redialling a killed server; it ends on its
// own after Close.
var rueidisReconnectPause = goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1")

// sharedAddrs returns the addresses of the first n shared servers, or skips
// the test when they could not be started (fails it under CI).
func sharedAddrs(tb testing.TB, n int) []string {
	tb.Helper()
	if shared.err != nil {
		if testsrv.InCI() || !errors.Is(shared.err, testsrv.ErrNoRedisServer) {
			tb.Fatalf("redis: %v", shared.err)
		}
		tb.Skipf("redis: %v", shared.err)
	}
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = shared.redis[i].Addr
	}
	return addrs
}

// uniquePrefix returns a key prefix no other test uses.
func uniquePrefix() string {
	return fmt.Sprintf("t%d:", shared.next.Add(1))
}

// openStore opens a store on cfg.Addrs (the first shared server when
// empty) under a fresh prefix and closes it when the test ends.
func openStore(tb testing.TB, cfg Config) *Store {
	tb.Helper()
	if len(cfg.Addrs) == 0 {
		cfg.Addrs = sharedAddrs(tb, 1)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = uniquePrefix()
	}
	s, err := Open(tb.Context(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

// startShards starts n servers of the test's own.
func startShards(tb testing.TB, n int) ([]*testsrv.Redis, []string) {
	tb.Helper()
	srvs := make([]*testsrv.Redis, n)
	addrs := make([]string, n)
	for i := range srvs {
		srvs[i] = testsrv.StartRedis(tb)
		addrs[i] = srvs[i].Addr
	}
	return srvs, addrs
}

// keysOf lists the keys of a server that start with prefix.
func keysOf(tb testing.TB, s *Store, shard int, prefix string) []string {
	tb.Helper()
	rdb := s.shards[shard].raw
	keys, err := rdb.Do(tb.Context(), rdb.B().Keys().Pattern(prefix+"*").Build()).AsStrSlice()
	require.NoError(tb, err)
	return keys
}

// hashTag returns the hash tag of a Redis key, as Redis Cluster finds it.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}
