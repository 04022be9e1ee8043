package relayq

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Coalescer gathers the fallback jobs of concurrent callers into shared
// messages. Jobs wait at most Window after the first job of their message;
// a message leaves early when it holds MaxBatch jobs. Jobs are grouped by
// how far off they are due, in steps of dueClass, so that the jobs of one
// message fall due together: those of devices that were offline (due at
// once) never wait in a message with those of live devices (due after the
// ack timeout).
//
// Waiting costs routing no latency to the device: the device was written to
// before its fallback job is scheduled. It delays only the relay of devices
// that were offline, by at most Window. With HoldSettled, the jobs of
// devices that were written to wait longer, and those whose device
// acknowledged meanwhile are never published.
type Coalescer struct {
	pub    *Publisher
	window time.Duration
	// hold and settled are HoldSettled's.
	hold    time.Duration
	settled func(Job) bool

	mu     sync.Mutex
	open   map[int64]*pending // by due class
	closed bool
	flying sync.WaitGroup
}

// dueClass is the width of the groups of due times that share a message.
const dueClass = 100 * time.Millisecond

// publishTimeout bounds one publish of a coalesced message.
const publishTimeout = 30 * time.Second

type pending struct {
	jobs  []Job
	calls []*call
	timer *time.Timer
}

// call is one ScheduleAsync: done runs once, when every message that holds
// one of its jobs was stored, with the first error.
type call struct {
	left atomic.Int32
	mu   sync.Mutex
	err  error
	done func(error)
}

func (c *call) finish(err error) {
	if err != nil {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.mu.Unlock()
	}
	if c.left.Add(-1) == 0 {
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		c.done(err)
	}
}

// NewCoalescer returns a Coalescer that publishes through p. A window of 0
// or less publishes every call's jobs at once, as Publisher.Schedule does.
func NewCoalescer(p *Publisher, window time.Duration) *Coalescer {
	return &Coalescer{pub: p, window: window, open: map[int64]*pending{}}
}

// HoldSettled makes c hold the jobs due at least 2 × hold from now (those
// of devices that were written to, due after the ack timeout) for up to
// hold instead of the window, and leave out of every message the jobs for
// which settled reports true: their check would find nothing to do, since
// the device acknowledged the message. A message whose jobs all settled is
// not published. settled must not wait (no I/O). Call it before the first
// Schedule.
//
// A dropped job is safe across a crash because the caller finishes the
// push only after done: if that finish survives, so did the
// acknowledgement it followed; if not, the push is routed again and its
// jobs scheduled again.
func (c *Coalescer) HoldSettled(hold time.Duration, settled func(Job) bool) *Coalescer {
	c.hold, c.settled = hold, settled
	return c
}

// Schedule queues jobs and waits until JetStream stored them.
func (c *Coalescer) Schedule(ctx context.Context, jobs []Job) error {
	done := make(chan error, 1)
	c.ScheduleAsync(jobs, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ScheduleAsync queues jobs and returns; done runs once they are all
// stored, or with the error that kept some of them out. done runs on
// another goroutine, or on the caller's when nothing is to be queued or
// the Coalescer is closed.
func (c *Coalescer) ScheduleAsync(jobs []Job, done func(error)) {
	if len(jobs) == 0 {
		done(nil)
		return
	}
	c.mu.Lock()
	if c.closed || c.window <= 0 {
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		defer cancel()
		done(c.pub.Schedule(ctx, jobs))
		return
	}
	// left starts at 1 for this loop, so that a message that leaves
	// before the loop ends cannot finish the call early.
	cl := &call{done: done}
	cl.left.Store(1)
	now := time.Now().UnixMilli()
	for _, j := range jobs {
		key := max(j.DueMs-now, 0) / dueClass.Milliseconds()
		held := c.settled != nil && time.Duration(key)*dueClass >= 2*c.hold
		p := c.open[key]
		if p == nil {
			p = &pending{}
			c.open[key] = p
			wait := c.window
			if held {
				wait = max(c.hold, c.window)
			}
			p.timer = time.AfterFunc(wait, func() { c.expire(key, p) })
		}
		p.jobs = append(p.jobs, j)
		if n := len(p.calls); n == 0 || p.calls[n-1] != cl {
			p.calls = append(p.calls, cl)
			cl.left.Add(1)
		}
		if held && len(p.jobs) >= MaxBatch {
			p.jobs = c.unsettled(p.jobs)
		}
		if len(p.jobs) >= MaxBatch {
			p.timer.Stop()
			delete(c.open, key)
			c.flying.Add(1)
			go func() {
				defer c.flying.Done()
				c.publish(p)
			}()
		}
	}
	c.mu.Unlock()
	cl.finish(nil)
}

// expire publishes p when its window is over, unless it left already.
func (c *Coalescer) expire(key int64, p *pending) {
	c.mu.Lock()
	if c.open[key] != p {
		c.mu.Unlock()
		return
	}
	delete(c.open, key)
	c.flying.Add(1)
	c.mu.Unlock()
	defer c.flying.Done()
	c.publish(p)
}

func (c *Coalescer) publish(p *pending) {
	var err error
	if jobs := c.unsettled(p.jobs); len(jobs) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		err = c.pub.Schedule(ctx, jobs)
		cancel()
	}
	for _, cl := range p.calls {
		cl.finish(err)
	}
}

// unsettled returns the jobs that have not settled, in jobs' own array.
func (c *Coalescer) unsettled(jobs []Job) []Job {
	if c.settled == nil {
		return jobs
	}
	return slices.DeleteFunc(jobs, c.settled)
}

// Close publishes what is waiting and returns when every message left;
// later calls publish at once.
func (c *Coalescer) Close() {
	c.mu.Lock()
	c.closed = true
	open := c.open
	c.open = map[int64]*pending{}
	for _, p := range open {
		p.timer.Stop()
		c.flying.Add(1)
	}
	c.mu.Unlock()
	for _, p := range open {
		go func() {
			defer c.flying.Done()
			c.publish(p)
		}()
	}
	c.flying.Wait()
}
