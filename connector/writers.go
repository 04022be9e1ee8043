package connector

import (
	"sync"
	"sync/atomic"
)

// maxIdleWriters bounds the goroutines kept waiting for the next session
// with something to write.
const maxIdleWriters = 64

// writers runs session writers on goroutines that outlive one write burst.
// Split's listener has a writers of its own, on which it serves the
// connections it accepts, for the same reason: a handshake grows the stack.
// A session has a writer only while it has something to write; starting a
// new goroutine for each burst put it on a small stack that then grew on
// the way into the store (the sent watermark), for every push. A goroutine
// that finished one session's writer waits for the next session instead,
// unless maxIdleWriters already wait.
//
// Each waiting goroutine is listed with its own hand-off channel, and it is
// listed only once it is ready to take work, so a burst started after a
// goroutine went idle always reuses it. The last to go idle is taken first:
// its stack is the one most likely still in cache.
type writers struct {
	mu      sync.Mutex
	idle    []chan func() // each buffered by one: a hand-off never blocks
	closed  bool
	spawned atomic.Int64 // goroutines started
	started atomic.Int64 // writers started, on new or waiting goroutines
}

func newWriters() *writers {
	return &writers{}
}

// start runs fn (a session's writer) on a waiting goroutine, or on a new
// one.
func (w *writers) start(fn func()) {
	w.started.Add(1)
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		ch := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		ch <- fn
		return
	}
	w.mu.Unlock()
	w.spawned.Add(1)
	go w.loop(fn, make(chan func(), 1))
}

func (w *writers) loop(fn func(), ch chan func()) {
	for fn != nil {
		fn()
		w.mu.Lock()
		if w.closed || len(w.idle) >= maxIdleWriters {
			w.mu.Unlock()
			return
		}
		w.idle = append(w.idle, ch)
		w.mu.Unlock()
		fn = <-ch
	}
}

// waiting reports how many goroutines wait for work.
func (w *writers) waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.idle)
}

// close ends the waiting goroutines; writers started later end after their
// session's writer.
func (w *writers) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for _, ch := range w.idle {
		ch <- nil
	}
	w.idle = nil
}
