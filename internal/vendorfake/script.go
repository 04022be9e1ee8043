package vendorfake

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fault is a scripted error answer. Each vendor fake reads the fields in its
// own terms: Reason is the APNs reason, the FCM errorCode, the HMS result
// code, and is unused by Web Push.
type Fault struct {
	// Status is the HTTP status; zero lets the fake pick the status the
	// vendor documents for Reason.
	Status int
	// Reason is the vendor's error reason or code.
	Reason string
	// Message is the human-readable text; empty: a default.
	Message string
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds (rounded up).
	RetryAfter time.Duration
}

// SetRetryAfter writes f's Retry-After header, if it has one.
func (f Fault) SetRetryAfter(h http.Header) {
	if f.RetryAfter <= 0 {
		return
	}
	secs := (f.RetryAfter + time.Second - 1) / time.Second
	h.Set("Retry-After", strconv.FormatInt(int64(secs), 10))
}

// Script holds scripted faults: a queue that fails the next requests
// whatever their token, and faults that stick to one token until cleared.
// The zero value is ready to use. Vendor fakes embed it.
type Script struct {
	mu      sync.Mutex
	next    []Fault
	byToken map[string]Fault
}

// FailNext makes the next n requests that reach the scripted step answer f.
func (s *Script) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.next = append(s.next, f)
	}
}

// FailToken makes every request for token answer f until ClearToken or
// ClearFaults.
func (s *Script) FailToken(token string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byToken == nil {
		s.byToken = make(map[string]Fault)
	}
	s.byToken[token] = f
}

// ClearToken removes the fault scripted for token.
func (s *Script) ClearToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byToken, token)
}

// ClearFaults removes every scripted fault.
func (s *Script) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = nil
	s.byToken = nil
}

// TakeFault returns the fault for a request to token: the next queued one
// first (which it consumes), else the token's own.
func (s *Script) TakeFault(token string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.next) > 0 {
		f := s.next[0]
		s.next = s.next[1:]
		return f, true
	}
	f, ok := s.byToken[token]
	return f, ok
}
