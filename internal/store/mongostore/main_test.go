package mongostore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/testsrv"
)

// shared is the FerretDB every test of the package uses, started once in
// TestMain; each test opens its own database on it. Tests that kill a
// server start their own.
var shared struct {
	mongo *testsrv.Mongo
	err   error
}

func TestMain(m *testing.M) {
	shared.mongo, shared.err = testsrv.LaunchMongo()
	code := m.Run()
	if shared.mongo != nil {
		if err := shared.mongo.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop ferretdb:", err)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// sharedMongo returns the shared server, or skips the test when it could
// not be started (fails it when CI is set).
func sharedMongo(tb testing.TB) *testsrv.Mongo {
	tb.Helper()
	if shared.err != nil {
		if testsrv.InCI() {
			tb.Fatalf("ferretdb: %v (CI is set)", shared.err)
		}
		tb.Skipf("ferretdb: %v", shared.err)
	}
	return shared.mongo
}

// openStore opens a store on a new database of the shared server, unless
// cfg.URI names another server. The database is dropped and the store
// closed when the test ends.
func openStore(tb testing.TB, cfg Config) *Store {
	tb.Helper()
	return openStoreWith(tb, cfg, nil)
}

// openStoreWith is openStore with a hook on the driver's options.
func openStoreWith(tb testing.TB, cfg Config, tune func(*options.ClientOptions)) *Store {
	tb.Helper()
	if cfg.URI == "" {
		cfg.URI = sharedMongo(tb).URI
	}
	if cfg.Database == "" {
		cfg.Database = "t_" + strings.ToLower(ids.New())
	}
	s, err := open(tb.Context(), cfg, tune)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if !s.closed.Load() {
			if err := s.client.Database(cfg.Database).Drop(ctx); err != nil {
				tb.Logf("drop %s: %v", cfg.Database, err)
			}
		}
		require.NoError(tb, s.Close())
	})
	return s
}
