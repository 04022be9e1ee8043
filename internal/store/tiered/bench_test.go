package tiered

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/redisstore"
	"github.com/mopush/mopush/internal/testsrv"
)

const (
	benchDevices = 1000
	benchHot     = 900 // of benchDevices, kept in L0
)

// benchShards starts two Redis servers for a benchmark; without
// redis-server it skips, except under CI (testsrv.StartRedis).
func benchShards(b *testing.B) []string {
	b.Helper()
	return []string{testsrv.StartRedis(b).Addr, testsrv.StartRedis(b).Addr}
}

// benchTiered opens a Tiered on addrs over l2 and runs it until the
// benchmark ends.
func benchTiered(b *testing.B, cfg Config, l2 store.Devices) *Tiered {
	b.Helper()
	tr, err := Open(b.Context(), cfg, l2)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
		tr.Close() //nolint:errcheck // benchmark teardown
	})
	return tr
}

// benchPut writes n devices through tr and returns their ids.
func benchPut(b *testing.B, tr *Tiered, n int) []string {
	b.Helper()
	idList := make([]string, n)
	for i := range idList {
		d := newDevice(i)
		idList[i] = d.ID
		if err := tr.PutDevice(b.Context(), d); err != nil {
			b.Fatal(err)
		}
	}
	return idList
}

func roundTrips(b *testing.B, reg prometheus.Gatherer) float64 {
	return obstest.Value(b, reg, "push_store_redis_round_trips_total", nil)
}

// BenchmarkDeviceRead reads the states of 1000 devices, 90% of them hot in
// L0 and the rest in L1 (two Redis shards), per op. path=tiered goes
// through the tiers: L0, then one pipeline per shard for the rest.
// path=naive reads the same devices from the same shards with one GET per
// device, each waited for. round-trips/op counts what reached Redis: the
// cold tenth does every op, with tracking on or off, as nothing but L0
// keeps copies in process.
func BenchmarkDeviceRead(b *testing.B) {
	for _, tracking := range []bool{false, true} {
		b.Run(fmt.Sprintf("path=tiered/tracking=%t", tracking), func(b *testing.B) {
			reg := prometheus.NewPedanticRegistry()
			tr := benchTiered(b, Config{Registerer: reg, NoTracking: !tracking,
				L1: redisstore.Config{Addrs: benchShards(b)}}, openPebble(b))
			idList := benchPut(b, tr, benchDevices)
			cold := make([]string, 0, benchDevices-benchHot)
			for _, id := range idList[benchHot:] {
				cold = append(cold, tr.DeviceKey(id))
			}
			ctx := b.Context()
			before := roundTrips(b, reg)
			for b.Loop() {
				for _, k := range cold {
					tr.l0.Delete(k)
				}
				got, err := tr.Devices(ctx, idList)
				if err != nil || got[benchDevices-1] == nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((roundTrips(b, reg)-before)/float64(b.N), "round-trips/op")
			b.ReportMetric(float64(benchDevices*b.N)/b.Elapsed().Seconds(), "devices/s")
		})
	}
	b.Run("path=naive", func(b *testing.B) {
		addrs := benchShards(b)
		tr := benchTiered(b, Config{NoTracking: true, L1: redisstore.Config{Addrs: addrs, Prefix: "bench:"}}, openPebble(b))
		idList := benchPut(b, tr, benchDevices)
		reg := prometheus.NewPedanticRegistry()
		rs, err := redisstore.Open(b.Context(), redisstore.Config{Addrs: addrs, Prefix: "bench:", Registerer: reg})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { rs.Close() }) //nolint:errcheck // benchmark teardown
		ctx := b.Context()
		before := roundTrips(b, reg)
		for b.Loop() {
			for _, id := range idList {
				got, err := rs.Devices(ctx, []string{id})
				if err != nil || got[0] == nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric((roundTrips(b, reg)-before)/float64(b.N), "round-trips/op")
		b.ReportMetric(float64(benchDevices*b.N)/b.Elapsed().Seconds(), "devices/s")
	})
}

// BenchmarkDeviceReports writes one report per device (a new last-seen
// time each) for 1000 devices per op (200 on MongoDB, which is FerretDB on
// SQLite here and slow to write) into L2 and L1 (two Redis shards). L2 is
// Pebble, MongoDB (when FerretDB can be had), or a third Redis server as
// the system of record; each implements BulkWriter, so a flush writes L2
// in one call (one synced batch, one bulk write, one pipeline) instead of
// one PutDevice per device.
// mode=batched sends them from one goroutine per device through
// ReportWait, so each returns once its write is done; mode=unbatched
// writes each report on its own (read from L2, change, PutDevice: L2, L1,
// L0), one after another; mode=unbatched-parallel does the same from 64
// goroutines.
func BenchmarkDeviceReports(b *testing.B) {
	l2s := []benchL2{
		{"pebble", benchDevices, func(b *testing.B) store.Devices { return openPebble(b) }},
		{"redis", benchDevices, openRedisL2},
		benchMongo,
	}
	for _, l2 := range l2s {
		for _, mode := range []string{"batched", "unbatched", "unbatched-parallel"} {
			b.Run(fmt.Sprintf("l2=%s/mode=%s", l2.name, mode), func(b *testing.B) {
				addrs := benchShards(b)
				l2s := l2.open(b)
				tr := benchTiered(b, Config{NoTracking: true, L1: redisstore.Config{Addrs: addrs}}, l2s)
				idList := benchPut(b, tr, l2.devices)
				ctx := b.Context()
				base := time.Now()
				n := 0
				for b.Loop() {
					n++
					seen := base.Add(time.Duration(n) * time.Second)
					var err error
					switch mode {
					case "batched":
						err = reportBatched(ctx, tr, idList, seen)
					case "unbatched":
						err = reportUnbatched(ctx, tr, l2s, idList, seen)
					default:
						err = reportParallel(ctx, tr, l2s, idList, seen, 64)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(l2.devices*b.N)/b.Elapsed().Seconds(), "reports/s")
			})
		}
	}
}

// benchL2 is one system of record the report benchmark runs on: its name,
// how many devices an op reports, and how to open it.
type benchL2 struct {
	name    string
	devices int
	open    func(b *testing.B) store.Devices
}

func reportBatched(ctx context.Context, tr *Tiered, idList []string, seen time.Time) error {
	errs := make([]error, len(idList))
	var wg sync.WaitGroup
	for i, id := range idList {
		wg.Go(func() { errs[i] = tr.ReportWait(ctx, id, Fields{LastSeen: seen}) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// reportOne writes one report without batching.
func reportOne(ctx context.Context, tr *Tiered, l2 store.Devices, id string, seen time.Time) error {
	got, err := l2.Devices(ctx, []string{id})
	if err != nil {
		return err
	}
	Fields{LastSeen: seen}.Apply(got[0])
	return tr.PutDevice(ctx, got[0])
}

func reportUnbatched(ctx context.Context, tr *Tiered, l2 store.Devices, idList []string, seen time.Time) error {
	for _, id := range idList {
		if err := reportOne(ctx, tr, l2, id, seen); err != nil {
			return err
		}
	}
	return nil
}

func reportParallel(ctx context.Context, tr *Tiered, l2 store.Devices, idList []string, seen time.Time, workers int) error {
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(idList) && errs[w] == nil; i += workers {
				errs[w] = reportOne(ctx, tr, l2, idList[i], seen)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// openRedisL2 opens a redisstore on a server of the benchmark's own as the
// system of record.
func openRedisL2(b *testing.B) store.Devices {
	b.Helper()
	s, err := redisstore.Open(b.Context(), redisstore.Config{Addrs: []string{testsrv.StartRedis(b).Addr}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() }) //nolint:errcheck // benchmark teardown
	return s
}
