package tiered

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/batch"
	"github.com/mopush/mopush/internal/store/pebblestore"
	"github.com/mopush/mopush/internal/testsrv"
)

func TestFieldsApply(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := &store.Device{LastSeen: t0, Locale: "en", Tokens: map[string]string{"fcm": "a", "apns": "b"}}
	require.False(t, Fields{}.Apply(d))
	require.False(t, Fields{LastSeen: t0.Add(-time.Hour), Locale: "en", Tokens: map[string]string{"fcm": "a", "hms": ""}}.Apply(d))
	require.True(t, Fields{LastSeen: t0.Add(time.Hour)}.Apply(d))
	require.Equal(t, t0.Add(time.Hour), d.LastSeen)
	require.True(t, Fields{Locale: "fr", TimeZone: "Europe/Paris", Tokens: map[string]string{"fcm": "", "hms": "h"}}.Apply(d))
	require.Equal(t, &store.Device{LastSeen: t0.Add(time.Hour), Locale: "fr", TimeZone: "Europe/Paris",
		Tokens: map[string]string{"apns": "b", "hms": "h"}}, d)
	require.True(t, Fields{Tokens: map[string]string{"apns": "", "hms": ""}}.Apply(d))
	require.Nil(t, d.Tokens)
	empty := &store.Device{}
	require.True(t, Fields{Tokens: map[string]string{"wns": "w"}}.Apply(empty))
	require.Equal(t, map[string]string{"wns": "w"}, empty.Tokens)
}

func TestFieldsThen(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := Fields{LastSeen: t0.Add(time.Minute), Locale: "en", Tokens: map[string]string{"fcm": "1", "apns": "x"}}
	b := Fields{LastSeen: t0, TimeZone: "UTC", Tokens: map[string]string{"fcm": "2", "hms": ""}}
	require.Equal(t, Fields{LastSeen: t0.Add(time.Minute), Locale: "en", TimeZone: "UTC",
		Tokens: map[string]string{"fcm": "2", "apns": "x", "hms": ""}}, a.then(b))
	require.Equal(t, map[string]string{"fcm": "1", "apns": "x"}, a.Tokens, "a is not changed")
}

// TestReports: many reports of a few devices are merged and written to L2
// and L1 in few flushes; unknown devices are counted and dropped.
func TestReports(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	l2 := openPebble(t)
	tr := open(t, Config{Registerer: reg, Reports: batch.Config{MaxDelay: 5 * time.Millisecond}}, l2)
	devs, idList := putL2(t, l2, 10)
	ctx := t.Context()
	base := devs[0].LastSeen
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			f := Fields{LastSeen: base.Add(time.Duration(i+1) * time.Second)}
			if i%100 == 0 {
				f.Locale = "fr"
			}
			if err := tr.ReportWait(ctx, idList[i%10], f); err != nil {
				t.Errorf("report: %v", err)
			}
		})
	}
	wg.Wait()
	require.NoError(t, tr.ReportWait(ctx, "unknown-device", Fields{Locale: "de"}))
	require.Error(t, tr.Report(ctx, "", Fields{}))
	require.Error(t, tr.ReportWait(ctx, "", Fields{}))

	fromL2, err := l2.Devices(ctx, idList)
	require.NoError(t, err)
	fromL1, err := tr.l1.Devices(ctx, idList)
	require.NoError(t, err)
	for i := range idList {
		want := base.Add(time.Duration(490+i+1) * time.Second)
		require.Equal(t, want, fromL2[i].LastSeen, "device %d", i)
		require.Equal(t, fromL2[i], fromL1[i], "L1 holds what L2 holds")
		require.Equal(t, devs[i].Tokens, fromL2[i].Tokens)
	}
	require.Equal(t, "fr", fromL2[0].Locale)
	require.Equal(t, "en", fromL2[1].Locale)
	require.Equal(t, 1.0, obstest.Value(t, reg, "push_store_tier_reports_total", map[string]string{"result": "unknown"}))
	applied := obstest.Value(t, reg, "push_store_tier_reports_total", map[string]string{"result": "applied"})
	require.Less(t, applied, 500.0, "reports of one device in one batch are merged")
	t.Logf("500 reports applied as %v device writes", applied)
}

// gatedL2 blocks report flushes at their L2 read until release is closed.
type gatedL2 struct {
	*pebblestore.Store
	entered chan struct{}
	release chan struct{}
}

func (g *gatedL2) Devices(ctx context.Context, ids []string) ([]*store.Device, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Store.Devices(ctx, ids)
}

// TestReportBackpressure: with the only worker stuck in a flush and the
// queue full, Report blocks until its context ends and returns the
// deadline error; once the flush goes on, every report accepted before is
// written.
func TestReportBackpressure(t *testing.T) {
	t.Parallel()
	const queue = 4
	pebble := openPebble(t)
	devs, idList := putL2(t, pebble, queue+1)
	l2 := &gatedL2{Store: pebble, entered: make(chan struct{}, 1), release: make(chan struct{})}
	tr := open(t, Config{NoTracking: true, Reports: batch.Config{Workers: 1, MaxBatch: 1, QueueSize: queue}}, l2)
	ctx := t.Context()
	seen := func(i int) time.Time { return devs[i].LastSeen.Add(time.Hour) }

	require.NoError(t, tr.Report(ctx, idList[0], Fields{LastSeen: seen(0)}))
	<-l2.entered // the worker holds the first report
	for i := 1; i <= queue; i++ {
		require.NoError(t, tr.Report(ctx, idList[i], Fields{LastSeen: seen(i)}))
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, tr.Report(short, idList[0], Fields{Locale: "never"}), context.DeadlineExceeded)
	require.ErrorIs(t, tr.ReportWait(short, idList[0], Fields{Locale: "never"}), context.DeadlineExceeded)
	require.Equal(t, queue, tr.reports.Queued(), "nothing beyond the queue is held")

	close(l2.release)
	testsrv.WaitFor(t, 10*time.Second, func() bool {
		got, err := pebble.Devices(ctx, idList)
		require.NoError(t, err)
		for i, d := range got {
			if !d.LastSeen.Equal(seen(i)) {
				return false
			}
		}
		return true
	})
	got, err := pebble.Devices(ctx, idList[:1])
	require.NoError(t, err)
	require.NotEqual(t, "never", got[0].Locale, "the refused report was not written")
}
