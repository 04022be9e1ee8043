package tiered

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/batch"
	"github.com/mopush/mopush/internal/store/cache"
	"github.com/mopush/mopush/internal/store/redisstore"
)

var (
	_ store.Devices     = (*Tiered)(nil)
	_ store.TagIndex    = (*Tiered)(nil)
	_ cache.Invalidator = (*Tiered)(nil)
	_ BulkWriter        = (*redisstore.Store)(nil)
	_ BulkUpdater       = (*redisstore.Store)(nil)
)

// BulkWriter is an L2 that writes many devices in one call.
type BulkWriter interface {
	// PutDevices creates or replaces the devices, like PutDevice for each.
	PutDevices(ctx context.Context, devs []*store.Device) error
}

// BulkUpdater is an L2 that replaces many devices in one call, each only
// while it is still the version read. A report flush uses it when L2
// implements it, then changes the devices written meanwhile one by one
// (UpdateDevice, WriteConcurrency at a time); without it, it changes every
// device so.
type BulkUpdater interface {
	// ReplaceDevices writes news[i] where the device stored still is
	// olds[i], and returns the positions it did not write: devices
	// written or deleted since olds were read.
	ReplaceDevices(ctx context.Context, olds, news []*store.Device) (stale []int, err error)
}

// Tiered is the tiered device store: L0 in process, L1 on sharded Redis,
// L2 the system of record. Build it with Open; its methods are safe for
// concurrent use.
type Tiered struct {
	cfg     Config
	l0      *cache.Cache
	l1      *redisstore.Store // nil without L1
	l2      store.Devices
	reports *batch.Writer[report]
	locks   *stripes
	repairs *repairs
	metrics *metrics
	log     *slog.Logger
	started atomic.Bool
}

// Open builds the layer over l2, the system of record, which the caller
// keeps owning. It connects to the L1 shards when cfg.L1.Addrs is set and
// fails (wrapping store.ErrUnavailable) when one cannot be reached.
func Open(ctx context.Context, cfg Config, l2 store.Devices) (*Tiered, error) {
	if l2 == nil {
		return nil, errors.New("tiered: no L2")
	}
	cfg = cfg.withDefaults()
	t := &Tiered{cfg: cfg, l2: l2, locks: newStripes(), repairs: newRepairs(cfg.MaxRepairs), log: cfg.Logger.With("component", "tiered")}
	var err error
	if t.metrics, err = newMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	if t.l0, err = cache.New(cfg.L0); err != nil {
		return nil, fmt.Errorf("tiered: l0: %w", err)
	}
	if len(cfg.L1.Addrs) > 0 {
		l1cfg := cfg.L1
		if !cfg.NoTracking {
			l1cfg.Invalidator = t
		}
		if t.l1, err = redisstore.Open(ctx, l1cfg); err != nil {
			return nil, fmt.Errorf("tiered: l1: %w", err)
		}
	}
	t.reports = batch.New(cfg.Reports, t.flush)
	return t, nil
}

// Run sweeps L0, repairs L1 entries that failed writes may have left stale,
// and flushes device reports until ctx ends; then it drains the queued
// reports (see batch.Writer.Run) and returns nil. A second call returns
// batch.ErrRunning at once.
func (t *Tiered) Run(ctx context.Context) error {
	if !t.started.CompareAndSwap(false, true) {
		return batch.ErrRunning
	}
	var wg sync.WaitGroup
	var l0err error
	wg.Go(func() { l0err = t.l0.Run(ctx) })
	wg.Go(func() { t.runRepairs(ctx, t.cfg.RepairInterval) })
	err := t.reports.Run(ctx)
	wg.Wait()
	return errors.Join(err, l0err)
}

// Close closes L1. Call it after Run returned, so that the drained reports
// could reach L1; L2 stays open.
func (t *Tiered) Close() error {
	if t.l1 == nil {
		return nil
	}
	return t.l1.Close()
}

// DeviceKey returns the key of a device in L0, which is its key in L1: the
// name that Invalidate takes, for example from a bus message that another
// node sent after it wrote the device.
func (t *Tiered) DeviceKey(id string) string {
	if t.l1 != nil {
		return t.l1.DeviceKey(id)
	}
	return "device:" + id
}

// Invalidate drops devices, named by DeviceKey, from L0 and keeps reads
// under way from putting older values back. The L1 client calls it when
// Redis reports that another client changed a key this node read.
func (t *Tiered) Invalidate(keys ...string) {
	for _, k := range keys {
		t.locks.bump(k)
	}
	t.l0.Invalidate(keys...)
}

// InvalidateAll drops every device from L0, for when invalidations may have
// been lost (the L1 client calls it when a tracking connection drops).
func (t *Tiered) InvalidateAll() {
	t.locks.bumpAll()
	t.l0.InvalidateAll()
}
