package tiered

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/aerostore"
	"github.com/mopush/mopush/internal/store/pebblestore"
	"github.com/mopush/mopush/internal/testsrv"
	"github.com/mopush/mopush/internal/testsrv/aerofake"
)

// shared holds two Redis servers that tests use as L1 shards, started once
// in TestMain; each test keeps to keys under a prefix of its own. Tests
// that kill a server start their own.
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

// sharedAddrs returns the addresses of the shared servers, or skips the
// test when they could not be started (fails it under CI).
func sharedAddrs(tb testing.TB) []string {
	tb.Helper()
	if shared.err != nil {
		if testsrv.InCI() || !errors.Is(shared.err, testsrv.ErrNoRedisServer) {
			tb.Fatalf("redis: %v", shared.err)
		}
		tb.Skipf("redis: %v", shared.err)
	}
	return []string{shared.redis[0].Addr, shared.redis[1].Addr}
}

func uniquePrefix() string { return fmt.Sprintf("t%d:", shared.next.Add(1)) }

// openPebble opens an L2 in a temporary directory.
func openPebble(tb testing.TB) *pebblestore.Store {
	tb.Helper()
	s, err := pebblestore.Open(pebblestore.Config{Dir: tb.TempDir()})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

// openAerospike opens an L2 on an in-memory Aerospike server of its own.
func openAerospike(tb testing.TB) store.Devices {
	tb.Helper()
	srv, err := aerofake.Start(aerofake.Config{Namespaces: []string{"test"}})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, srv.Close()) })
	s, err := aerostore.Open(tb.Context(), aerostore.Config{Hosts: []string{srv.Addr()}, Namespace: "test", Timeout: 5 * time.Second})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

// open builds a Tiered over l2 with cfg (L1 on the shared servers unless
// cfg.L1.Addrs is set; no L1 when it is set to an empty, non-nil slice),
// runs it and stops and closes it when the test ends.
func open(tb testing.TB, cfg Config, l2 store.Devices) *Tiered {
	tb.Helper()
	if cfg.L1.Addrs == nil {
		cfg.L1.Addrs = sharedAddrs(tb)
	}
	if cfg.L1.Prefix == "" {
		cfg.L1.Prefix = uniquePrefix()
	}
	t, err := Open(tb.Context(), cfg, l2)
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- t.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		require.NoError(tb, <-done)
		require.NoError(tb, t.Close())
	})
	return t
}
