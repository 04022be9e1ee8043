package redisstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/cache"
)

// Defaults applied by Open to zero Config fields.
const (
	// DefaultPrefix starts every key the store writes.
	DefaultPrefix = "mp:"
	// DefaultDialTimeout bounds connecting to one shard.
	DefaultDialTimeout = time.Second
	// DefaultTimeout bounds one round trip to one shard.
	DefaultTimeout = 2 * time.Second
)

// Config configures Open. Zero fields take their documented defaults.
type Config struct {
	// Addrs are the Redis servers, one per shard: "host:port", or the path
	// of a unix socket (starting with "/"). Required. A Redis Cluster may
	// stand as one shard: every key of a device shares a hash tag.
	Addrs []string
	// Names name the shards, by position of Addrs, on the hash ring and in
	// metric labels. Default: the addresses. The ring hashes names, so keep
	// a shard's name when its address changes, or its keys move.
	Names []string
	// VNodes is how many virtual nodes each shard has on the ring. Default
	// shard.DefaultVNodes.
	VNodes int
	// Prefix starts every key; several stores can share servers under
	// different prefixes. It must not contain '{' or '}'. Default
	// DefaultPrefix ("mp:").
	Prefix string
	// MaxStreamLen is how many messages each device stream retains; older
	// ones are trimmed as new ones arrive. Default
	// store.DefaultMaxStreamLen.
	MaxStreamLen int
	// DialTimeout bounds connecting to a shard, at Open and on reconnects;
	// Open fails with store.ErrUnavailable when it passes. Default 1 s.
	DialTimeout time.Duration
	// Timeout bounds each round trip to one shard; a shard that does not
	// answer in time counts as failed. Default 2 s.
	Timeout time.Duration
	// Invalidator, when set, turns on server-assisted invalidation (RESP3
	// CLIENT TRACKING in OPTOUT mode): Redis remembers each key this client
	// reads and, when any client changes it, pushes the key's name (see
	// DeviceKey) to Invalidator.Invalidate, once per read; a lost connection
	// calls InvalidateAll. The store keeps no copy of what it reads; a
	// caller that keeps copies should take them from reads only, never from
	// its own writes (see the package doc). Every read the store makes is
	// tracked, so give it a Store used for device records only. Invalidator
	// is called on a connection's reading goroutine and must be quick.
	// Default nil: nothing is tracked.
	Invalidator cache.Invalidator
	// Now is the clock for message expiry. Default time.Now; tests set it.
	Now func() time.Time
	// Name, when set, becomes the "store" label of the metrics, so several
	// stores can share one registry; then each needs a distinct Name.
	Name string
	// Logger receives the store's few log lines. Default: discard.
	Logger *slog.Logger
	// CheckPersistence makes Open read each shard's persistence settings
	// (CONFIG GET appendonly, appendfsync) and log a warning for a shard
	// that can lose writes it acknowledged: set it when the store keeps
	// streams (see "Durability" in the package doc).
	CheckPersistence bool
	// Registerer receives the metrics. Default nil: no metrics.
	Registerer prometheus.Registerer
}

// withDefaults fills zero fields and checks the result.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Addrs) == 0 {
		return cfg, errors.New("redisstore: Config.Addrs is empty")
	}
	if len(cfg.Names) == 0 {
		cfg.Names = cfg.Addrs
	}
	if len(cfg.Names) != len(cfg.Addrs) {
		return cfg, fmt.Errorf("redisstore: %d names for %d addresses", len(cfg.Names), len(cfg.Addrs))
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return cfg, fmt.Errorf("redisstore: prefix %q holds a brace", cfg.Prefix)
	}
	if cfg.MaxStreamLen <= 0 {
		cfg.MaxStreamLen = store.DefaultMaxStreamLen
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}
