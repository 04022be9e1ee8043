package connector

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
