package testsrv

import (
	"testing"
	"time"
)

// Poll calls cond until it returns true or timeout passes, starting with a
// 1 ms pause between calls and doubling it up to 50 ms. It reports whether
// cond returned true.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		timer.Reset(min(pause, left))
		<-timer.C
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// WaitFor polls cond until it returns true and fails the test when timeout
// passes first. Call it from the test's own goroutine.
func WaitFor(tb testing.TB, timeout time.Duration, cond func() bool) {
	tb.Helper()
	if !Poll(timeout, cond) {
		tb.Fatalf("condition not met within %s", timeout)
	}
}
