package tiered

import (
	"testing"
	"time"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/mongostore"
	"github.com/mopush/mopush/internal/testsrv"
)

// benchMongo is MongoDB as L2 of BenchmarkDeviceReports: FerretDB on
// SQLite here, slow to write, so an op reports 200 devices.
var benchMongo = benchL2{"mongo", 200, openMongo}

// openMongo opens a mongostore L2 on a FerretDB of the benchmark's own; it
// skips when FerretDB cannot be had (testsrv.StartMongo).
func openMongo(b *testing.B) store.Devices {
	b.Helper()
	srv := testsrv.StartMongo(b)
	// FerretDB on SQLite queues concurrent writes; a long timeout keeps the
	// parallel modes from failing on the queue.
	s, err := mongostore.Open(b.Context(), mongostore.Config{URI: srv.URI, Database: "bench", Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() }) //nolint:errcheck // benchmark teardown
	return s
}
