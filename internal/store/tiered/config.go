package tiered

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/store/batch"
	"github.com/mopush/mopush/internal/store/cache"
	"github.com/mopush/mopush/internal/store/redisstore"
)

// Defaults applied by Open to zero Config fields.
const (
	// DefaultL0TTL is how long a device stays in L0.
	DefaultL0TTL = time.Minute
	// DefaultL1TTL is how long a device stays in L1 after it was written
	// or read from L2.
	DefaultL1TTL = 10 * time.Minute
	// DefaultRepairInterval is how often Run deletes L1 entries that a
	// failed write may have left stale.
	DefaultRepairInterval = time.Second
	// DefaultMaxRepairs is how many devices wait for repair at most.
	DefaultMaxRepairs = 1 << 16
	// DefaultWriteConcurrency is how many L2 writes a report flush runs at
	// once when L2 has no bulk write.
	DefaultWriteConcurrency = 64
)

// Config configures Open. Zero fields take their documented defaults.
type Config struct {
	// L0 configures the in-process cache. Its Registerer and Logger
	// default to the ones below, its Name to "devices".
	L0 cache.Config
	// L0TTL is how long a device stays in L0. Default 1 min. It bounds how
	// long this node can serve a value that another node changed while
	// this node could not hear of it (tracking off or a lost connection).
	L0TTL time.Duration
	// L1 configures the Redis tier; empty Addrs means no L1. Open sets its
	// Invalidator (to the Tiered) unless NoTracking; its Registerer and
	// Logger default to the ones below, its Name to "l1".
	L1 redisstore.Config
	// L1TTL is how long a device stays in L1. Default 10 min. It bounds how
	// long a shard that comes back with data from before an outage can
	// serve a value written while it was down.
	L1TTL time.Duration
	// RepairInterval is how often Run deletes the L1 entries of devices
	// whose L1 write failed, once their shard answers again. Default 1 s.
	RepairInterval time.Duration
	// MaxRepairs is how many such devices are remembered at most. Default
	// 65536.
	MaxRepairs int
	// NoTracking turns off server-assisted invalidation of L1 reads. Other
	// nodes' writes then reach this node's L0 only through Invalidate (for
	// example from a bus message) or by expiry. Default false: tracked.
	NoTracking bool
	// Reports configures the batching of device reports. Its Registerer and
	// Logger default to the ones below, its Name to "device_reports".
	Reports batch.Config
	// WriteConcurrency is how many devices a report flush writes to L2 at
	// once when L2 does not implement BulkWriter. Default 64.
	WriteConcurrency int
	// Logger receives the layer's few log lines. Default: discard.
	Logger *slog.Logger
	// Registerer receives the metrics of every tier. Default nil: none.
	Registerer prometheus.Registerer
}

// withDefaults fills zero fields.
func (cfg Config) withDefaults() Config {
	if cfg.L0TTL <= 0 {
		cfg.L0TTL = DefaultL0TTL
	}
	if cfg.L1TTL <= 0 {
		cfg.L1TTL = DefaultL1TTL
	}
	if cfg.RepairInterval <= 0 {
		cfg.RepairInterval = DefaultRepairInterval
	}
	if cfg.MaxRepairs <= 0 {
		cfg.MaxRepairs = DefaultMaxRepairs
	}
	if cfg.WriteConcurrency <= 0 {
		cfg.WriteConcurrency = DefaultWriteConcurrency
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.L0.Registerer == nil {
		cfg.L0.Registerer = cfg.Registerer
	}
	if cfg.L0.Logger == nil {
		cfg.L0.Logger = cfg.Logger
	}
	if cfg.L0.Name == "" {
		cfg.L0.Name = "devices"
	}
	if cfg.L1.Registerer == nil {
		cfg.L1.Registerer = cfg.Registerer
	}
	if cfg.L1.Logger == nil {
		cfg.L1.Logger = cfg.Logger
	}
	if cfg.L1.Name == "" {
		cfg.L1.Name = "l1"
	}
	if cfg.Reports.Registerer == nil {
		cfg.Reports.Registerer = cfg.Registerer
	}
	if cfg.Reports.Logger == nil {
		cfg.Reports.Logger = cfg.Logger
	}
	if cfg.Reports.Name == "" {
		cfg.Reports.Name = "device_reports"
	}
	return cfg
}
