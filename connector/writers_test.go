package connector

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store/pebblestore"
)

func TestWritersReuseGoroutines(t *testing.T) {
	w := newWriters()
	t.Cleanup(w.close)
	ran := 0
	for range 100 {
		done := make(chan struct{})
		w.start(func() { ran++; close(done) })
		<-done
		require.Eventually(t, func() bool { return w.waiting() == 1 }, 10*time.Second, time.Millisecond)
	}
	require.Equal(t, 100, ran)
	require.EqualValues(t, 1, w.spawned.Load(), "one goroutine ran every burst")
}

func TestWritersKeepAtMostMaxIdle(t *testing.T) {
	w := newWriters()
	release := make(chan struct{})
	var wg sync.WaitGroup
	const n = maxIdleWriters + 36
	wg.Add(n)
	for range n {
		w.start(func() { wg.Done(); <-release })
	}
	wg.Wait()
	require.EqualValues(t, n, w.spawned.Load(), "busy writers do not wait for each other")
	close(release)
	require.Eventually(t, func() bool { return w.waiting() == maxIdleWriters }, 10*time.Second, time.Millisecond)
	w.close()
	require.Eventually(t, func() bool { return w.waiting() == 0 }, 10*time.Second, time.Millisecond, "close ends the waiting ones")

	done := make(chan struct{})
	w.start(func() { close(done) })
	<-done // after close, bursts still run
}

// The writers started are exported as push_connector_writers_started_total.
func TestWritersStartedIsExported(t *testing.T) {
	reg := prometheus.NewRegistry()
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	c := New(Config{}, st, nil, nil, reg)
	t.Cleanup(c.writers.close)
	if c.poller != nil {
		t.Cleanup(func() { c.poller.Close() })
	}
	read := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == "push_connector_writers_started_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatal("push_connector_writers_started_total is not exported")
		return 0
	}
	require.Zero(t, read())
	var wg sync.WaitGroup
	wg.Add(2)
	c.writers.start(wg.Done)
	c.writers.start(wg.Done)
	wg.Wait()
	require.Equal(t, 2.0, read())
}
