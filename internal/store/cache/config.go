package cache

import (
	"fmt"
	"log/slog"
	"math/bits"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultMaxBytes is the default byte cap: 64 MiB.
	DefaultMaxBytes = 64 << 20
	// DefaultShards is the default number of shards.
	DefaultShards = 16
	// DefaultJanitorInterval is how often Run sweeps by default.
	DefaultJanitorInterval = 5 * time.Second
	// DefaultSpillThreshold is the value length above which values go to
	// the spill store when one is set: 64 KiB.
	DefaultSpillThreshold = 64 << 10
)

// EntryOverhead is the fixed cost in bytes charged per entry on top of its
// key and value: the entry record with its list links and expiry (80 bytes)
// plus its slot in the shard's map and the map's spare room (about 48 bytes).
// It approximates what the Go heap spends per entry; BenchmarkCacheFootprint
// measures the heap against the accounted cost; they agree within about 20%
// for 64-byte values, where allocator rounding weighs most, and within a few
// percent for 1 KiB values.
const EntryOverhead = 128

// NoExpiry, passed as the ttl of Set, stores an entry that never expires.
const NoExpiry time.Duration = -1

// EvictReason tells OnEvict why an entry left the cache.
type EvictReason int

// Reasons an entry leaves the cache. Replacing an entry with Set is not an
// eviction.
const (
	// EvictExpired: its time to live passed.
	EvictExpired EvictReason = iota + 1
	// EvictCapacity: it was the least recently used entry of a full shard.
	EvictCapacity
	// EvictInvalidated: Invalidate or InvalidateAll named it, typically
	// because another node changed the key.
	EvictInvalidated
	// EvictDeleted: Delete removed it.
	EvictDeleted
	// EvictFailed: its value could not be read back from the spill store.
	EvictFailed
)

// String returns the reason as used in metric labels.
func (r EvictReason) String() string {
	switch r {
	case EvictExpired:
		return "expired"
	case EvictCapacity:
		return "capacity"
	case EvictInvalidated:
		return "invalidated"
	case EvictDeleted:
		return "deleted"
	case EvictFailed:
		return "failed"
	default:
		return fmt.Sprintf("reason(%d)", int(r))
	}
}

// Config configures a Cache. Zero fields take the documented defaults.
type Config struct {
	// MaxBytes is the hard cap on the cost of all entries, in bytes
	// (see EntryOverhead). Default 64 MiB.
	MaxBytes int64
	// DefaultTTL is the time to live of entries stored with ttl 0. Default
	// zero: such entries never expire.
	DefaultTTL time.Duration
	// Shards is how many independently locked parts the cache has, rounded
	// up to a power of two. Default 16. Each holds MaxBytes/Shards bytes.
	Shards int
	// JanitorInterval is how often Run sweeps expired entries. Default 5 s.
	JanitorInterval time.Duration
	// OnEvict, when set, is called after an entry leaves the cache for any
	// reason but replacement by Set. See the package doc for where it runs.
	OnEvict func(key string, reason EvictReason)
	// Spill, when set, receives values longer than SpillThreshold, which
	// then cost only their key and EntryOverhead in memory. The cache owns
	// the keys it writes there; one Spiller must not serve two caches.
	Spill Spiller
	// SpillThreshold is the value length in bytes above which values go to
	// Spill. Default 64 KiB; ignored without Spill.
	SpillThreshold int
	// Now returns the current time. Default time.Now; tests inject a clock.
	Now func() time.Time
	// Name, when set, becomes the "cache" label of the metrics, so several
	// caches can share one registry; then every cache on it needs a Name.
	Name string
	// Logger receives spill store errors. Default: discard.
	Logger *slog.Logger
	// Registerer receives the metrics. Default nil: no metrics.
	Registerer prometheus.Registerer
}

// withDefaults fills zero fields and checks the result.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Shards == 0 {
		cfg.Shards = DefaultShards
	}
	if cfg.JanitorInterval == 0 {
		cfg.JanitorInterval = DefaultJanitorInterval
	}
	if cfg.SpillThreshold == 0 {
		cfg.SpillThreshold = DefaultSpillThreshold
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.MaxBytes < 0, cfg.Shards < 0, cfg.JanitorInterval < 0, cfg.SpillThreshold < 0, cfg.DefaultTTL < 0:
		return cfg, fmt.Errorf("%w: negative size, count or duration", ErrConfig)
	case cfg.Shards > 1<<16:
		return cfg, fmt.Errorf("%w: %d shards, at most 65536", ErrConfig, cfg.Shards)
	}
	cfg.Shards = 1 << bits.Len(uint(cfg.Shards-1))
	if cfg.MaxBytes/int64(cfg.Shards) < 2*EntryOverhead {
		return cfg, fmt.Errorf("%w: MaxBytes %d is too small for %d shards", ErrConfig, cfg.MaxBytes, cfg.Shards)
	}
	return cfg, nil
}
