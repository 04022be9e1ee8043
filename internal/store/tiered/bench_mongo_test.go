package tiered

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	return mongoL2(b, testsrv.StartMongo(b).URI, "bench")
}

// mongoL2 opens a mongostore on database db of the server at uri and
// closes it when tb ends. FerretDB on SQLite queues concurrent writes; a
// long timeout keeps the parallel modes of BenchmarkDeviceReports from
// failing on the queue.
func mongoL2(tb testing.TB, uri, db string) *mongostore.Store {
	tb.Helper()
	s, err := mongostore.Open(tb.Context(), mongostore.Config{URI: uri, Database: db, Timeout: time.Minute})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}
