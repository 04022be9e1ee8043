package pebblestore

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// BenchmarkAppend appends one message per call from one goroutine, to one
// device or round-robin over many. Each call waits for its own fsync.
func BenchmarkAppend(b *testing.B) {
	for _, devices := range []int{1, 1000} {
		b.Run(fmt.Sprintf("devices=%d", devices), func(b *testing.B) {
			s := open(b, Config{Dir: b.TempDir()})
			devs, msg, ctx := benchDevices(devices), benchMessage(), b.Context()
			syncs := fsyncs(b, s)
			n := 0
			for b.Loop() {
				if _, err := s.Append(ctx, []store.Entry{{DeviceID: devs[n%devices], Message: msg}}); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportAppends(b, s, n, syncs)
		})
	}
}

// BenchmarkAppendParallel appends one message per call from many goroutines.
// With one device the calls queue on the device's stripe and each pays an
// fsync; with many devices pebble commits concurrent batches with one fsync
// (group commit), which appends/fsync shows.
func BenchmarkAppendParallel(b *testing.B) {
	for _, devices := range []int{1, 1000} {
		b.Run(fmt.Sprintf("devices=%d", devices), func(b *testing.B) {
			s := open(b, Config{Dir: b.TempDir()})
			devs, msg, ctx := benchDevices(devices), benchMessage(), b.Context()
			syncs := fsyncs(b, s)
			var next, n atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					dev := devs[next.Add(1)%int64(devices)]
					if _, err := s.Append(ctx, []store.Entry{{DeviceID: dev, Message: msg}}); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			})
			reportAppends(b, s, int(n.Load()), syncs)
		})
	}
}

// BenchmarkAppendBatch appends one message to each of 1000 devices per call,
// as routing a push to a connector's group of devices does.
func BenchmarkAppendBatch(b *testing.B) {
	const batch = 1000
	b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
		s := open(b, Config{Dir: b.TempDir()})
		devs, msg, ctx := benchDevices(batch), benchMessage(), b.Context()
		entries := oneEach(devs, msg)
		syncs := fsyncs(b, s)
		n := 0
		for b.Loop() {
			if _, err := s.Append(ctx, entries); err != nil {
				b.Fatal(err)
			}
			n += batch
		}
		reportAppends(b, s, n, syncs)
	})
}

func benchDevices(n int) []string {
	devs := make([]string, n)
	for i := range devs {
		devs[i] = fmt.Sprintf("device-%06d", i)
	}
	return devs
}

// oneEach returns entries that append msg to each of devs.
func oneEach(devs []string, msg store.Message) []store.Entry {
	entries := make([]store.Entry, len(devs))
	for i, d := range devs {
		entries[i] = store.Entry{DeviceID: d, Message: msg}
	}
	return entries
}

func benchMessage() store.Message {
	return store.Message{
		PushID: "01JBENCHMARK0000000000000",
		Title:  "Your order has shipped",
		Body:   "It will arrive on Thursday between 9 and 12.",
		Data:   map[string]string{"order": "A-1234567"},
		SentAt: time.Unix(1_700_000_000, 0).UTC(),
	}
}

// reportAppends reports appends per second and appends per WAL fsync.
func reportAppends(b *testing.B, s *Store, appends int, syncsBefore uint64) {
	b.ReportMetric(float64(appends)/b.Elapsed().Seconds(), "appends/s")
	if syncs := fsyncs(b, s) - syncsBefore; syncs > 0 {
		b.ReportMetric(float64(appends)/float64(syncs), "appends/fsync")
	}
}

// fsyncs returns how many WAL fsyncs the database has done.
func fsyncs(tb testing.TB, s *Store) uint64 {
	var m dto.Metric
	if err := s.db.Metrics().LogWriter.FsyncLatency.Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// BenchmarkFinishPush finishes pushes of 1,000 targets each, as the
// gateway does once a push is routed. Up to 1,000 ops each finish a
// pending push (run it with -benchtime 1000x); further ops finish done
// ones again.
func BenchmarkFinishPush(b *testing.B) {
	s := open(b, Config{Dir: b.TempDir()})
	ctx := b.Context()
	targets := benchDevices(1000)
	const pushes = 1000
	ids := make([]string, pushes)
	for i := range ids {
		ids[i] = fmt.Sprintf("push-%04d", i)
		p := &store.Push{ID: ids[i], AppID: "app", Targets: targets, CreatedAt: time.Now()}
		if _, err := s.CreatePush(ctx, p, ""); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for b.Loop() {
		if err := s.FinishPush(ctx, ids[n%pushes], store.Counts{Offline: 1}); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// BenchmarkReadStream reads the stream of a connecting session: one of 1000
// devices whose streams are empty, one that is caught up (the head only),
// or one that is behind by a message.
func BenchmarkReadStream(b *testing.B) {
	const devices = 1000
	for _, state := range []string{"empty", "caught-up", "behind"} {
		b.Run(state, func(b *testing.B) {
			s := open(b, Config{Dir: b.TempDir()})
			devs, msg, ctx := benchDevices(devices), benchMessage(), b.Context()
			epochs := make([]uint64, devices)
			if state != "empty" {
				for i, d := range devs {
					for range 3 {
						pos, err := s.Append(ctx, []store.Entry{{DeviceID: d, Message: msg}})
						if err != nil {
							b.Fatal(err)
						}
						epochs[i] = pos[0].Epoch
					}
				}
			}
			since := uint64(3)
			if state != "caught-up" {
				since = 2
			}
			if state == "empty" {
				since = 0
			}
			n := 0
			for b.Loop() {
				i := n % devices
				page, err := s.ReadStream(ctx, devs[i], epochs[i], since, 100)
				if err != nil {
					b.Fatal(err)
				}
				if want := map[string]int{"empty": 0, "caught-up": 0, "behind": 1}[state]; len(page.Messages) != want {
					b.Fatalf("%d messages, want %d", len(page.Messages), want)
				}
				n++
			}
		})
	}
}

// BenchmarkFirstOutcome records the first outcome of messages just
// appended, as the ack of nearly every push does, on a database whose
// older data sits in files on disk. "kept" is the store as it runs, which
// knows the messages it appended have no outcome yet; "read" forgets that,
// so each call reads the missing outcome first. Up to 65,536 ops find
// their message kept (run it with -benchtime 20000x).
func BenchmarkFirstOutcome(b *testing.B) {
	const devices, older = 1000, 100
	for _, mode := range []string{"kept", "read"} {
		b.Run(mode, func(b *testing.B) {
			s := open(b, Config{Dir: b.TempDir()})
			devs, msg, ctx := benchDevices(devices), benchMessage(), b.Context()
			entries := oneEach(devs, msg)
			// Older messages with outcomes, flushed to files.
			for range older {
				pos, err := s.Append(ctx, entries)
				if err != nil {
					b.Fatal(err)
				}
				for i, p := range pos {
					if _, _, err := s.SetOutcome(ctx, devs[i], p.Seq, store.OutcomeAcked); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := s.db.Flush(); err != nil {
				b.Fatal(err)
			}
			if mode == "read" {
				s.unrecorded = newUnrecorded(1)
			}
			var targets []store.Position
			for len(targets) < b.N {
				pos, err := s.Append(ctx, entries)
				if err != nil {
					b.Fatal(err)
				}
				targets = append(targets, pos...)
			}
			b.ResetTimer()
			for i := range b.N {
				_, set, err := s.SetOutcome(ctx, devs[i%devices], targets[i].Seq, store.OutcomeAcked)
				if err != nil || !set {
					b.Fatalf("set %v, err %v", set, err)
				}
			}
		})
	}
}

// BenchmarkCreatePushDeferred creates one-target pushes with new ids, as
// the gateway does, in a store that holds 100,000 older pushes in its
// files. "kept" finds each id free from the ids it keeps; "read" looks the
// id up, as every create did before.
func BenchmarkCreatePushDeferred(b *testing.B) {
	const older = 100_000
	for _, mode := range []string{"kept", "read"} {
		b.Run(mode, func(b *testing.B) {
			s := open(b, Config{Dir: b.TempDir()})
			ctx := b.Context()
			start := time.Now().Add(-time.Hour)
			for i := range older {
				p := &store.Push{ID: ids.At(start.Add(time.Duration(i) * time.Millisecond)), AppID: "app",
					Targets: []string{"device-000001"}, CreatedAt: start}
				if _, _, err := s.CreatePushDeferred(ctx, p, ""); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.db.Flush(); err != nil {
				b.Fatal(err)
			}
			if mode == "read" {
				s.newPushes = newNewPushes("\xff", maxNewPushes) // no id is above it
			}
			b.ReportAllocs()
			for b.Loop() {
				p := &store.Push{ID: ids.New(), AppID: "app", Targets: []string{"device-000001"}, CreatedAt: start}
				if _, _, err := s.CreatePushDeferred(ctx, p, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCatchUpAfterRestart is a session's catch-up of a device whose
// stream tail is not kept (the process restarted, or the cache dropped
// it): the read of the missed message, then the sent and acked watermarks
// over it. "kept" is the store as it runs, whose read keeps the tail it
// found; "dropped" forgets it after the read, so that each watermark
// iterates the stream. The append of the message is not timed.
func BenchmarkCatchUpAfterRestart(b *testing.B) {
	const devices = 1000
	for _, mode := range []string{"kept", "dropped"} {
		b.Run(mode, func(b *testing.B) {
			s := open(b, Config{Dir: b.TempDir()})
			devs, msg, ctx := benchDevices(devices), benchMessage(), b.Context()
			for i := 0; i < b.N; i++ {
				dev := devs[i%devices]
				b.StopTimer()
				pos, err := s.Append(ctx, []store.Entry{{DeviceID: dev, Message: msg}})
				if err != nil {
					b.Fatal(err)
				}
				s.tails.drop(dev)
				b.StartTimer()
				page, err := s.ReadStream(ctx, dev, pos[0].Epoch, pos[0].Seq-1, 100)
				if err != nil || len(page.Messages) != 1 {
					b.Fatalf("read: %d messages, %v", len(page.Messages), err)
				}
				if mode == "dropped" {
					s.tails.drop(dev)
				}
				for _, mark := range []store.Mark{store.MarkSent, store.MarkAcked} {
					if covered, err := s.Advance(ctx, dev, mark, pos[0].Seq); err != nil || len(covered) != 1 {
						b.Fatalf("advance: %d messages, %v", len(covered), err)
					}
				}
			}
		})
	}
}

// BenchmarkDevices reads one device record by id, as a handshake does:
// 1,000 devices with a push token, tags and an alias, read round-robin.
func BenchmarkDevices(b *testing.B) {
	s := open(b, Config{Dir: b.TempDir()})
	ctx := b.Context()
	now := time.Now()
	devs := make([]*store.Device, 1000)
	for i := range devs {
		devs[i] = &store.Device{ID: ids.New(), AppID: "app", Secret: ids.Secret(32), Platform: "ios",
			Alias: fmt.Sprintf("user-%d", i), Tags: []string{"news", "sports"}, Locale: "en-GB",
			TimeZone: "Europe/London", Tokens: map[string]string{"apns": fmt.Sprintf("%064x", i)},
			CreatedAt: now, LastSeen: now}
	}
	if err := s.PutDevices(ctx, devs); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		got, err := s.Devices(ctx, []string{devs[n%len(devs)].ID})
		if err != nil || got[0] == nil {
			b.Fatal(err)
		}
		n++
	}
}
