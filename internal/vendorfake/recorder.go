package vendorfake

import "sync"

// Recorder counts the requests a fake receives and keeps the messages it
// accepted, in order. The zero value records. Vendor fakes embed it.
type Recorder[T any] struct {
	mu       sync.Mutex
	requests int
	accepted int
	discard  bool
	msgs     []T
}

// Hit counts one request to the send endpoint, accepted or not.
func (r *Recorder[T]) Hit() {
	r.mu.Lock()
	r.requests++
	r.mu.Unlock()
}

// Accept records an accepted message.
func (r *Recorder[T]) Accept(m T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accepted++
	if !r.discard {
		r.msgs = append(r.msgs, m)
	}
}

// Requests returns how many send requests arrived, accepted or not.
func (r *Recorder[T]) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// Count returns how many messages were accepted.
func (r *Recorder[T]) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted
}

// Received returns a copy of the accepted messages, oldest first.
func (r *Recorder[T]) Received() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]T, len(r.msgs))
	copy(out, r.msgs)
	return out
}

// Last returns the most recently accepted message kept, if any.
func (r *Recorder[T]) Last() (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var zero T
	if len(r.msgs) == 0 {
		return zero, false
	}
	return r.msgs[len(r.msgs)-1], true
}

// DiscardReceived stops (true) or resumes (false) keeping accepted messages;
// they are still counted. Benchmarks use it to keep memory flat.
func (r *Recorder[T]) DiscardReceived(discard bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.discard = discard
	if discard {
		r.msgs = nil
	}
}

// ResetReceived forgets the kept messages and zeroes the counters.
func (r *Recorder[T]) ResetReceived() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs, r.requests, r.accepted = nil, 0, 0
}
