package batch

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultMaxBatch is the default Config.MaxBatch.
	DefaultMaxBatch = 256
	// DefaultMaxDelay is the default Config.MaxDelay.
	DefaultMaxDelay = 2 * time.Millisecond
	// DefaultWorkers is the default Config.Workers.
	DefaultWorkers = 4
	// DefaultQueueSize is the default Config.QueueSize.
	DefaultQueueSize = 4096
	// DefaultDrainTimeout is the default Config.DrainTimeout.
	DefaultDrainTimeout = 10 * time.Second
)

// Config configures a Writer. Zero (or negative) fields take the documented
// defaults.
type Config struct {
	// MaxBatch is the most items one flush receives. Default 256.
	MaxBatch int
	// MaxDelay is how long a worker waits after the first item of a batch
	// for more before it flushes a partial batch. Default 2 ms.
	MaxDelay time.Duration
	// Workers is how many batches may be flushed at once. Default 4.
	Workers int
	// QueueSize is how many items may wait for a worker; Add blocks beyond
	// it. Default 4096.
	QueueSize int
	// DrainTimeout bounds the drain after Run's context ends. Default 10 s.
	DrainTimeout time.Duration
	// Name, when set, becomes the "writer" label of the metrics, so several
	// writers can share one registry; then every writer on it needs a Name.
	Name string
	// Logger receives flush errors that no AddWait caller sees. Default:
	// discard.
	Logger *slog.Logger
	// Registerer receives the metrics. Default nil: no metrics.
	Registerer prometheus.Registerer
}

// withDefaults fills zero fields.
func (cfg Config) withDefaults() Config {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Name != "" {
		cfg.Logger = cfg.Logger.With("writer", cfg.Name)
	}
	return cfg
}
