package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/store/redisstore"
	"github.com/mopush/mopush/internal/store/tokencache"
)

// sharedTokens is the cluster-wide cache of vendor tokens and the Redis
// client it owns.
type sharedTokens struct {
	cache *tokencache.Cache
	rdb   rueidis.Client
}

// openSharedTokens returns the cluster-wide vendor token cache of a relay
// node on a clustered store, or nil for other nodes and for the embedded
// store (one process: there is no one to share with). It lives on the first
// Redis shard of store.redis: nodes that list the shards in the same order
// share every token; a node listing another shard first shares only with
// the nodes that do the same, which costs token fetches, not correctness.
func openSharedTokens(cfg config.Config, roles Roles, log *slog.Logger, reg prometheus.Registerer) (*sharedTokens, error) {
	if cfg.Store.Backend != "cluster" || len(cfg.Store.Redis) == 0 || !roles.Relay || cfg.Relay.Disabled {
		return nil, nil
	}
	addr := cfg.Store.Redis[0]
	opt := rueidis.ClientOption{
		InitAddress:  []string{addr},
		Dialer:       net.Dialer{Timeout: redisstore.DefaultDialTimeout},
		ClientName:   "mopush-tokens",
		DisableCache: true,
	}
	opt.DialCtxFn = redisstore.UnixDial(addr)
	rdb, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("store.redis %s (vendor tokens): %w", addr, err)
	}
	cache, err := tokencache.New(tokencache.Config{Logger: log.With("component", "tokencache"), Registerer: reg}, rdb)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	return &sharedTokens{cache: cache, rdb: rdb}, nil
}

// run listens for other nodes' token refreshes until ctx ends, then closes
// the Redis client.
func (s *sharedTokens) run(ctx context.Context) error {
	defer s.rdb.Close()
	return s.cache.Run(ctx)
}

// runTokens runs the shared token cache, if the node has one, and returns
// the function that stops it and waits for it.
func (n *Node) runTokens(ctx context.Context) func() {
	if n.tokens == nil {
		return func() {}
	}
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := n.tokens.run(tctx); err != nil {
			n.log.Error("token cache stopped", "error", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
