package batch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Writer batches items of type T for a flush function. Build it with New
// and start it with Run.
type Writer[T any] struct {
	cfg     Config
	flush   func(ctx context.Context, items []T) error
	queue   chan job[T]
	metrics *metrics

	started atomic.Bool
	// closed is set when Run's context ends; from then on Add refuses.
	closed atomic.Bool
	// inflight counts Add calls between their closed check and their
	// return, so that the drain knows when no more items can arrive.
	inflight atomic.Int64
	// idle receives a token when inflight drops to zero after closed is
	// set.
	idle chan struct{}
	// closing is closed at the drain deadline to release blocked Adds.
	closing     chan struct{}
	closingOnce sync.Once
}

// job is one queued item and, for AddWait, where its flush result goes.
type job[T any] struct {
	item T
	done chan error // nil for Add; buffered with room for one
}

// New returns a writer that hands batches to flush. It panics when
// cfg.Registerer holds different metrics under the writer's metric names.
func New[T any](cfg Config, flush func(ctx context.Context, items []T) error) *Writer[T] {
	cfg = cfg.withDefaults()
	return &Writer[T]{
		cfg:     cfg,
		flush:   flush,
		queue:   make(chan job[T], cfg.QueueSize),
		metrics: newMetrics(cfg.Registerer, cfg.Name, cfg.MaxBatch),
		idle:    make(chan struct{}, 1),
		closing: make(chan struct{}),
	}
}

// Add queues item. It returns at once when the queue has room; otherwise it
// blocks until there is room (then nil), ctx ends (ctx.Err()) or the writer
// shuts down (ErrClosed). A nil return means the item will be flushed
// unless the drain at shutdown runs out of time; use AddWait to learn that
// it was.
func (w *Writer[T]) Add(ctx context.Context, item T) error {
	return w.enqueue(ctx, job[T]{item: item})
}

// AddWait queues item like Add and then waits until the batch holding it
// was flushed, returning the flush's error (wrapped; test with errors.Is).
// When ctx ends first it returns ctx.Err(); the item may still be flushed.
func (w *Writer[T]) AddWait(ctx context.Context, item T) error {
	done := make(chan error, 1)
	if err := w.enqueue(ctx, job[T]{item: item, done: done}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue puts j in the queue, blocking while it is full.
func (w *Writer[T]) enqueue(ctx context.Context, j job[T]) error {
	w.inflight.Add(1)
	defer w.leave()
	if w.closed.Load() {
		return ErrClosed
	}
	select {
	case w.queue <- j:
		return nil
	default:
	}
	select {
	case w.queue <- j:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-w.closing:
		return ErrClosed
	}
}

// leave ends an enqueue and wakes the drain when it was the last one.
func (w *Writer[T]) leave() {
	if w.inflight.Add(-1) == 0 && w.closed.Load() {
		select {
		case w.idle <- struct{}{}:
		default:
		}
	}
}

// Queued returns how many items wait for a worker.
func (w *Writer[T]) Queued() int { return len(w.queue) }

// Run runs the workers until ctx ends, then drains: it refuses new items,
// waits for Adds under way, flushes everything queued within DrainTimeout,
// and returns nil. It returns ErrRunning when called a second time.
func (w *Writer[T]) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	// Flushes outlive ctx so that the drain can write; the drain deadline
	// cancels them.
	flushCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range w.cfg.Workers {
		wg.Go(func() { w.work(flushCtx, stop) })
	}

	<-ctx.Done()
	w.closed.Store(true)
	deadline := time.AfterFunc(w.cfg.DrainTimeout, func() {
		abort()
		w.closingOnce.Do(func() { close(w.closing) })
	})
	defer deadline.Stop()
	w.settle()
	close(stop)
	wg.Wait()
	return nil
}

// settle waits until no Add is under way. Adds blocked on a full queue get
// through as the workers drain it, or give up when closing is closed at the
// drain deadline.
func (w *Writer[T]) settle() {
	for w.inflight.Load() > 0 {
		<-w.idle
	}
}

// work collects and flushes batches until stop is closed, then flushes what
// is left in the queue.
func (w *Writer[T]) work(ctx context.Context, stop <-chan struct{}) {
	timer := time.NewTimer(w.cfg.MaxDelay)
	timer.Stop()
	batch := make([]job[T], 0, w.cfg.MaxBatch)
	items := make([]T, 0, w.cfg.MaxBatch)
	for {
		select {
		case j := <-w.queue:
			batch = append(batch, j)
		case <-stop:
			w.drain(ctx, batch, items)
			return
		}
		batch = w.fill(batch, timer, stop)
		w.flushBatch(ctx, batch, items)
		batch = batch[:0]
	}
}

// fill adds queued items to batch until it is full, MaxDelay passes or stop
// is closed.
func (w *Writer[T]) fill(batch []job[T], timer *time.Timer, stop <-chan struct{}) []job[T] {
	batch = w.take(batch)
	if len(batch) == w.cfg.MaxBatch {
		return batch
	}
	timer.Reset(w.cfg.MaxDelay)
	defer timer.Stop()
	for len(batch) < w.cfg.MaxBatch {
		select {
		case j := <-w.queue:
			batch = append(batch, j)
		case <-timer.C:
			return batch
		case <-stop:
			return batch
		}
	}
	return batch
}

// take adds to batch, without waiting, what the queue holds, up to
// MaxBatch.
func (w *Writer[T]) take(batch []job[T]) []job[T] {
	for len(batch) < w.cfg.MaxBatch {
		select {
		case j := <-w.queue:
			batch = append(batch, j)
		default:
			return batch
		}
	}
	return batch
}

// drain flushes the queue empty. No item can arrive any more.
func (w *Writer[T]) drain(ctx context.Context, batch []job[T], items []T) {
	for {
		batch = w.take(batch[:0])
		if len(batch) == 0 {
			return
		}
		w.flushBatch(ctx, batch, items)
	}
}

// fail reports ErrClosed to the batch's AddWait callers without flushing.
func (w *Writer[T]) fail(batch []job[T]) {
	for i, j := range batch {
		if j.done != nil {
			j.done <- ErrClosed
		}
		batch[i] = job[T]{}
	}
	w.metrics.drop(len(batch))
	w.cfg.Logger.Error("batch dropped at drain deadline", "items", len(batch))
}

// flushBatch flushes batch through items (a reused buffer) and reports the
// result to its AddWait callers. Once ctx is cancelled (the drain deadline
// passed) it fails the batch instead.
func (w *Writer[T]) flushBatch(ctx context.Context, batch []job[T], items []T) {
	if ctx.Err() != nil {
		w.fail(batch)
		return
	}
	items = items[:0]
	waiters := 0
	for _, j := range batch {
		items = append(items, j.item)
		if j.done != nil {
			waiters++
		}
	}
	start := time.Now()
	err := w.flush(ctx, items)
	w.metrics.flushed(len(items), time.Since(start).Seconds(), err != nil, len(w.queue))
	clear(items) // let the items be collected
	if err != nil {
		err = fmt.Errorf("flush batch of %d: %w", len(batch), err)
		if waiters < len(batch) {
			w.cfg.Logger.Warn("batch flush failed", "items", len(batch), "unwatched", len(batch)-waiters, "error", err)
		}
	}
	for i, j := range batch {
		if j.done != nil {
			j.done <- err
		}
		batch[i] = job[T]{}
	}
}
