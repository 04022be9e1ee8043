package connector

import (
	"sync/atomic"
)

// maxIdleWriters bounds the goroutines kept waiting for the next session
// with something to write.
const maxIdleWriters = 64

// writers runs session writers on goroutines that outlive one write burst.
// A session has a writer only while it has something to write; starting a
// new goroutine for each burst put it on a small stack that then grew on
// the way into the store (the sent watermark), for every push. A goroutine
// that finished one session's writer waits for the next session instead,
// unless maxIdleWriters already wait.
type writers struct {
	work    chan func() // unbuffered: a send succeeds only when a goroutine waits
	stop    chan struct{}
	idle    atomic.Int32
	spawned atomic.Int64
}

func newWriters() *writers {
	return &writers{work: make(chan func()), stop: make(chan struct{})}
}

// start runs fn (a session's writer) on a waiting goroutine, or on a new
// one.
func (w *writers) start(fn func()) {
	select {
	case w.work <- fn:
	default:
		w.spawned.Add(1)
		go w.loop(fn)
	}
}

func (w *writers) loop(fn func()) {
	for {
		fn()
		if w.idle.Add(1) > maxIdleWriters {
			w.idle.Add(-1)
			return
		}
		select {
		case fn = <-w.work:
			w.idle.Add(-1)
		case <-w.stop:
			w.idle.Add(-1)
			return
		}
	}
}

// close ends the waiting goroutines; writers started later end after their
// session's writer.
func (w *writers) close() {
	close(w.stop)
}
