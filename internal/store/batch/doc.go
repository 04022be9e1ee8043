// Package batch merges many small writes into few large ones.
//
// A Writer queues items in a bounded channel; Workers goroutines each take a
// batch of up to MaxBatch items, waiting at most MaxDelay after the first
// item for more, and hand it to the flush function. Add returns once the
// item is queued; AddWait returns once the batch holding the item was
// flushed, with the flush's error, so a caller can know its write is durable.
// When the queue is full, Add and AddWait block until there is room or their
// context ends (backpressure): the writer never holds more than QueueSize
// queued items plus the batches being flushed.
//
// Run owns the workers. When its context ends it stops accepting items
// (Add returns ErrClosed), waits for Adds already under way, flushes
// everything queued, and returns. Nothing that Add accepted before the
// context ended is lost unless the drain outlasts DrainTimeout: then the
// context passed to flush is cancelled and what is still queued is failed
// with ErrClosed (AddWait callers see it; the drop is counted and logged).
//
// Concurrency: Add and AddWait are safe for concurrent use, before, during
// and after Run. Run is called once. The flush function is called from up
// to Workers goroutines at once; it must honour its context and must not
// keep the items slice after it returns.
package batch
