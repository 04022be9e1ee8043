package connector

import (
	"context"
	"sync"
	"time"
)

// broadcastOrderWait bounds how long a broadcast waits for the one before
// it in its app's stream. Two broadcasts routed at once may reach the
// connector in either order; offered out of order, every session sees a
// gap and reads the stream back from the store, which for a large app
// costs more than the whole fan-out. When the earlier one never comes (its
// delivery failed), the later one goes out after this wait and sessions
// catch up from the stream as before.
const broadcastOrderWait = 100 * time.Millisecond

// bcastOrder offers each app's broadcasts to its sessions in stream order:
// one is offered once the one before it has been. It is safe for
// concurrent use.
type bcastOrder struct {
	wait time.Duration

	mu   sync.Mutex
	apps map[string]*bcastTurn
}

// bcastTurn is the ordering state of one app's broadcast stream.
type bcastTurn struct {
	epoch   uint64        // the epoch of last
	last    uint64        // the highest sequence number offered
	waiting int           // broadcasts waiting for their turn
	changed chan struct{} // closed when an offer ends
}

func newBcastOrder(wait time.Duration) *bcastOrder {
	return &bcastOrder{wait: wait, apps: map[string]*bcastTurn{}}
}

// acquire waits until broadcast seq of an app's stream in epoch may be
// offered: the one before it has been, or the wait is over, or ctx ended.
// The caller offers it, then calls the returned release. The first
// broadcast seen of an epoch, and one behind the last offered, wait for no
// other.
func (o *bcastOrder) acquire(ctx context.Context, appID string, epoch, seq uint64) (release func()) {
	var (
		tm      *time.Timer
		timeout <-chan time.Time
		done    = ctx.Done()
		late    bool
	)
	o.mu.Lock()
	t := o.apps[appID]
	if t == nil {
		t = &bcastTurn{epoch: epoch, last: seq - 1, changed: make(chan struct{})}
		o.apps[appID] = t
	}
	for {
		if late || t.epoch != epoch || seq <= t.last+1 {
			if t.epoch != epoch {
				t.epoch, t.last = epoch, seq-1
			}
			o.mu.Unlock()
			return func() { o.release(t, epoch, seq) }
		}
		if tm == nil {
			tm = time.NewTimer(o.wait)
			defer tm.Stop()
			timeout = tm.C
		}
		ch := t.changed
		t.waiting++
		o.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			late, timeout, done = true, nil, nil
		case <-done:
			late, timeout, done = true, nil, nil
		}
		o.mu.Lock()
		t.waiting--
	}
}

// note tells the order where a session's catch-up found an app's broadcast
// stream (its epoch and head) while the app has no turn yet. Without it
// the first broadcast seen opened the turn: when the first two arrived in
// the wrong order, the later one went first and every session read both
// back from the store. A stream that does not exist yet (epoch 0) opens
// nothing.
func (o *bcastOrder) note(appID string, epoch, head uint64) {
	if epoch == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.apps[appID] == nil {
		o.apps[appID] = &bcastTurn{epoch: epoch, last: head, changed: make(chan struct{})}
	}
}

// release ends the offer of broadcast seq and wakes the waiters.
func (o *bcastOrder) release(t *bcastTurn, epoch, seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t.epoch == epoch && seq > t.last {
		t.last = seq
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// seen returns the highest number this connector knows an app's broadcast
// stream reached in epoch (a broadcast it offered, a head a catch-up found),
// 0 if it knows none.
func (o *bcastOrder) seen(appID string, epoch uint64) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t := o.apps[appID]; t != nil && t.epoch == epoch {
		return t.last
	}
	return 0
}

// waiters returns how many broadcasts of an app wait for their turn.
func (o *bcastOrder) waiters(appID string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t := o.apps[appID]; t != nil {
		return t.waiting
	}
	return 0
}
