package node

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// openStore opens the data layer the configuration names.
// fs, when set, is the embedded store's file system (tests).
func openStore(ctx context.Context, cfg config.Config, fs vfs.FS, log *slog.Logger, reg prometheus.Registerer) (store.Store, error) {
	switch cfg.Store.Backend {
	case "pebble":
		s, err := pebblestore.Open(pebblestore.Config{
			Dir: filepath.Join(cfg.Server.DataDir, "store"), MaxStreamLen: cfg.Store.MaxStreamLen, Logger: log, FS: fs,
		})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return s, nil
	case "cluster":
		c, err := openCluster(ctx, cfg, log, reg)
		if err != nil {
			return nil, err
		}
		return c, nil
	default:
		return nil, fmt.Errorf("store.backend %q: want \"pebble\" or \"cluster\"", cfg.Store.Backend)
	}
}
