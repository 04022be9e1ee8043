package tokencache

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultPrefix is the default Config.Prefix.
	DefaultPrefix = "mopush:token:"
	// DefaultChannel is the default Config.Channel.
	DefaultChannel = "mopush:token:refreshed"
	// DefaultRefreshMargin is the default Config.RefreshMargin.
	DefaultRefreshMargin = 5 * time.Minute
	// DefaultLockTTL is the default Config.LockTTL.
	DefaultLockTTL = 30 * time.Second
	// DefaultLocalTTL is the default Config.LocalTTL.
	DefaultLocalTTL = time.Minute
	// DefaultOpTimeout is the default Config.OpTimeout.
	DefaultOpTimeout = time.Second
	// DefaultPollMin is the default Config.PollMin.
	DefaultPollMin = 10 * time.Millisecond
	// DefaultPollMax is the default Config.PollMax.
	DefaultPollMax = 500 * time.Millisecond
)

// Config configures a Cache. Zero fields take the documented defaults.
type Config struct {
	// Prefix starts every Redis key the cache uses. Default
	// "mopush:token:".
	Prefix string
	// Channel is the Redis pub/sub channel refreshes are announced on.
	// Default "mopush:token:refreshed".
	Channel string
	// RefreshMargin is how long before its expiry a token is replaced.
	// Default 5 minutes.
	RefreshMargin time.Duration
	// LockTTL is how long a refresh lock lasts if its holder dies; the
	// refresh function's context ends when the lock does, so a refresher
	// never outlives its lock. Default 30 s.
	LockTTL time.Duration
	// LocalTTL is how long a local copy is used before Redis is asked
	// again, bounding staleness when a pub/sub notice is missed. Default
	// one minute.
	LocalTTL time.Duration
	// OpTimeout bounds each Redis command. When Redis fails or times out,
	// Get refreshes on its own rather than fail: vendors can mint a token
	// per instance, pushes cannot wait. Default 1 s.
	OpTimeout time.Duration
	// PollMin and PollMax bound the pauses, doubling from one to the other
	// with jitter, of a caller waiting for another instance's refresh.
	// Defaults 10 ms and 500 ms.
	PollMin, PollMax time.Duration
	// Now returns the current time. Default time.Now; tests inject a clock.
	// Redis expiries are always relative (PX), so a skewed clock only
	// shifts when refreshes happen.
	Now func() time.Time
	// Logger receives failures that do not fail a Get (a lost lock
	// release, a failed write-back). Default: discard.
	Logger *slog.Logger
	// Registerer receives the metrics. Default nil: no metrics.
	Registerer prometheus.Registerer
}

// withDefaults fills zero fields.
func (cfg Config) withDefaults() Config {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Channel == "" {
		cfg.Channel = DefaultChannel
	}
	if cfg.RefreshMargin <= 0 {
		cfg.RefreshMargin = DefaultRefreshMargin
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = DefaultLockTTL
	}
	if cfg.LocalTTL <= 0 {
		cfg.LocalTTL = DefaultLocalTTL
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = DefaultOpTimeout
	}
	if cfg.PollMin <= 0 {
		cfg.PollMin = DefaultPollMin
	}
	if cfg.PollMax < cfg.PollMin {
		cfg.PollMax = max(DefaultPollMax, cfg.PollMin)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}
