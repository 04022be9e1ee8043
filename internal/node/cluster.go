package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/connector"
	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/aerostore"
	"github.com/mopush/mopush/internal/store/cache"
	"github.com/mopush/mopush/internal/store/mongostore"
	"github.com/mopush/mopush/internal/store/redisstore"
	"github.com/mopush/mopush/internal/store/tiered"
)

// clusterStore is the clustered data layer and what must run beside it.
type clusterStore struct {
	store.Compose
	tiered *tiered.Tiered
	// streams keeps the streams and outcomes: Redis or Aerospike.
	streams streamStore
	// redis is streams when it is Redis, else nil.
	redis *redisstore.Store
}

// streamStore is what the cluster's stream store (Redis or Aerospike)
// offers beyond store.Streams: renewing a stream that went back, and an
// acknowledgement in one write.
type streamStore interface {
	connector.EpochRenewer
	store.AckRecorder
}

var _ store.AckRecorder = (*clusterStore)(nil)

// openCluster opens the clustered data layer: business data (apps,
// credentials, pushes, campaigns, portal users) in MongoDB; device state through the tiered layer
// (in-process cache, Redis shards, then Aerospike or MongoDB as the system
// of record); streams and outcomes in Aerospike when configured, else in
// Redis. Each backend that cannot be reached fails the start at once with
// its address.
func openCluster(ctx context.Context, cfg config.Config, log *slog.Logger, reg prometheus.Registerer) (st *clusterStore, err error) {
	sc := cfg.Store
	switch {
	case sc.Mongo == "":
		return nil, errors.New("store.backend = \"cluster\" needs store.mongo (a MongoDB connection string)")
	case len(sc.Redis) == 0:
		return nil, errors.New("store.backend = \"cluster\" needs store.redis (one or more Redis shards)")
	}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]() //nolint:errcheck // already failing
			}
		}
	}()
	mongo, err := mongostore.Open(ctx, mongostore.Config{URI: sc.Mongo, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("store.mongo %s: %w", sc.Mongo, err)
	}
	closers = append(closers, mongo.Close)
	var (
		l2       store.Devices = mongo
		streams  store.Streams
		outcomes store.Outcomes
		rs       *redisstore.Store
		both     streamStore
	)
	if len(sc.Aerospike) > 0 {
		aero, err := aerostore.Open(ctx, aerostore.Config{Hosts: sc.Aerospike, Namespace: sc.AerospikeNamespace,
			MaxStreamLen: sc.MaxStreamLen, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("store.aerospike %v: %w", sc.Aerospike, err)
		}
		closers = append(closers, aero.Close)
		l2, streams, outcomes, both = aero, aero, aero, aero
	} else {
		rs, err = redisstore.Open(ctx, redisstore.Config{Addrs: sc.Redis, MaxStreamLen: sc.MaxStreamLen,
			Name: "streams", Logger: log, Registerer: reg, CheckPersistence: true})
		if err != nil {
			return nil, fmt.Errorf("store.redis %v: %w", sc.Redis, err)
		}
		closers = append(closers, rs.Close)
		streams, outcomes, both = rs, rs, rs
	}
	cacheBytes := sc.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = 64 << 20
	}
	t, err := tiered.Open(ctx, tiered.Config{
		L0:         cache.Config{MaxBytes: cacheBytes},
		L1:         redisstore.Config{Addrs: sc.Redis},
		Logger:     log,
		Registerer: reg,
	}, l2)
	if err != nil {
		return nil, fmt.Errorf("store.redis %v (device tier): %w", sc.Redis, err)
	}
	closers = append(closers, t.Close)
	all := closers
	return &clusterStore{
		Compose: store.Compose{A: mongo, D: t, S: streams, P: mongo, C: mongo, O: outcomes, K: mongo, U: mongo,
			CloseFunc: func() error {
				var errs []error
				for i := len(all) - 1; i >= 0; i-- {
					errs = append(errs, all[i]())
				}
				return errors.Join(errs...)
			}},
		tiered:  t,
		streams: both,
		redis:   rs,
	}, nil
}

// AdvanceAcked moves a device's ack watermark and records the outcomes it
// covers in one write of the stream store, Redis or Aerospike
// (store.AckRecorder).
func (c *clusterStore) AdvanceAcked(ctx context.Context, deviceID string, through uint64, now time.Time) ([]store.Acked, error) {
	return c.streams.AdvanceAcked(ctx, deviceID, through, now)
}

// RenewEpoch moves a device's stream that went back in epoch to a new
// one (connector.EpochRenewer).
func (c *clusterStore) RenewEpoch(ctx context.Context, deviceID string, epoch uint64) (uint64, error) {
	return c.streams.RenewEpoch(ctx, deviceID, epoch)
}

// Report queues a device report in the tiered layer's batching writer.
func (c *clusterStore) Report(ctx context.Context, deviceID string, f tiered.Fields) error {
	return c.tiered.Report(ctx, deviceID, f)
}

// Run runs the tiered layer's background work (report flushing, repairs,
// cache expiry) until ctx ends.
func (c *clusterStore) Run(ctx context.Context) error { return c.tiered.Run(ctx) }
