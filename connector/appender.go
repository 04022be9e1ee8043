package connector

import (
	"context"
	"errors"
	"fmt"

	"github.com/mopush/mopush/internal/store"
)

// Appender limits.
const (
	appendQueue    = 4096 // requests waiting; a full queue makes Deliver wait
	appendMaxBatch = 2048 // entries merged into one store call
	appendWorkers  = 2
)

// errStopped means the connector stopped and takes no more deliveries.
var errStopped = errors.New("connector stopped")

// appendReq is one Deliver's entries and where its positions go.
type appendReq struct {
	entries []store.Entry
	pos     []store.Position
	err     error
	done    chan struct{}
}

// appender merges the appends of concurrent deliveries into few store
// calls: a worker takes every request queued while its previous call ran
// and appends them together. Batches grow with load and add no delay when
// the connector is idle.
type appender struct {
	st      Store
	queue   chan *appendReq
	stopped chan struct{}
}

func newAppender(st Store) *appender {
	return &appender{st: st, queue: make(chan *appendReq, appendQueue), stopped: make(chan struct{})}
}

// append appends entries and returns their positions.
func (a *appender) append(ctx context.Context, entries []store.Entry) ([]store.Position, error) {
	r := &appendReq{entries: entries, done: make(chan struct{})}
	select {
	case <-a.stopped: // checked first: a stopped appender's queue may have room
		return nil, errStopped
	default:
	}
	select {
	case a.queue <- r:
	case <-a.stopped:
		return nil, errStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-r.done:
		return r.pos, r.err
	case <-a.stopped:
		// The workers are gone: r was either done just before, or will
		// never be appended.
		select {
		case <-r.done:
			return r.pos, r.err
		default:
			return nil, errStopped
		}
	case <-ctx.Done():
		return nil, ctx.Err() // the append may still land; the gateway retries
	}
}

// run serves the queue until ctx ends, then fails what is left.
func (a *appender) run(ctx context.Context) {
	done := make(chan struct{})
	for range appendWorkers {
		go func() {
			defer func() { done <- struct{}{} }()
			a.work(ctx)
		}()
	}
	for range appendWorkers {
		<-done
	}
	close(a.stopped)
	for {
		select {
		case r := <-a.queue:
			r.err = errStopped
			close(r.done)
		default:
			return
		}
	}
}

func (a *appender) work(ctx context.Context) {
	for {
		var first *appendReq
		select {
		case <-ctx.Done():
			return
		case first = <-a.queue:
		}
		batch := []*appendReq{first}
		n := len(first.entries)
	fill:
		for n < appendMaxBatch {
			select {
			case r := <-a.queue:
				batch = append(batch, r)
				n += len(r.entries)
			default:
				break fill
			}
		}
		a.flush(context.WithoutCancel(ctx), batch, n)
	}
}

// flush appends a batch in one store call and hands each request its
// positions.
func (a *appender) flush(ctx context.Context, batch []*appendReq, n int) {
	entries := make([]store.Entry, 0, n)
	for _, r := range batch {
		entries = append(entries, r.entries...)
	}
	pos, err := a.st.Append(ctx, entries)
	if err == nil && len(pos) != len(entries) {
		err = fmt.Errorf("store returned %d positions for %d entries", len(pos), len(entries))
	}
	off := 0
	for _, r := range batch {
		if err != nil {
			r.err = err
		} else {
			r.pos = pos[off : off+len(r.entries)]
		}
		off += len(r.entries)
		close(r.done)
	}
}
