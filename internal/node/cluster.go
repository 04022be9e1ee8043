package node

import (
	"context"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/store"
)

// openCluster opens the clustered data layer. (Filled in with the Redis,
// MongoDB and Aerospike backends.)
func openCluster(context.Context, config.Config, *slog.Logger, prometheus.Registerer) (store.Store, error) {
	return nil, errors.New("store.backend \"cluster\" is not available yet")
}
