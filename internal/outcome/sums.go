package outcome

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/store"
)

// MaxPendingSums bounds the pushes whose counts wait in a Sums while the
// store refuses them: about 150 bytes each.
const MaxPendingSums = 1 << 18

// Sums adds up counter updates in memory until Flush writes them to its
// store, one write per push: a broadcast acknowledged by every session, or
// a push delivered and acknowledged in the same moment, costs one. Updates
// the store refuses are kept for the next Flush, so that an outage (a
// MongoDB election, a restart) delays counts instead of losing them.
type Sums struct {
	st      Counter
	log     *slog.Logger
	dropped prometheus.Counter // may be nil

	mu sync.Mutex
	m  map[string]store.Counts
}

// NewSums returns empty sums that Flush writes to st. Pushes whose sums are
// dropped (beyond MaxPendingSums) are counted on dropped, which may be nil.
func NewSums(st Counter, log *slog.Logger, dropped prometheus.Counter) *Sums {
	return &Sums{st: st, log: log, dropped: dropped, m: map[string]store.Counts{}}
}

// Add adds delta to the sum of push id.
func (s *Sums) Add(id string, delta store.Counts) {
	s.mu.Lock()
	s.m[id] = s.m[id].Add(delta)
	s.mu.Unlock()
}

// AddEach adds delta once per message to its push's sum.
func (s *Sums) AddEach(msgs []store.Message, delta store.Counts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		s.m[m.PushID] = s.m[m.PushID].Add(delta)
	}
}

// Len returns how many pushes have counts waiting.
func (s *Sums) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Counter is where Flush writes.
type Counter interface {
	AddCounts(ctx context.Context, id string, delta store.Counts) error
}

// Flush writes every sum to the store. A push that is no longer stored has no
// counters left: its sum is dropped. The first write that fails ends the
// flush: it and the sums not tried are kept for the next Flush, so that a
// store that is down costs each flush one failed call, not one per push.
// At most MaxPendingSums pushes are kept in all; dropped returns how many
// were dropped beyond that. A write whose answer was lost after the store
// applied it is written again: the counts then read high by it.
func (s *Sums) Flush(ctx context.Context) (dropped int) {
	s.mu.Lock()
	pending := s.m
	if len(pending) == 0 {
		s.mu.Unlock()
		return 0
	}
	s.m = map[string]store.Counts{}
	s.mu.Unlock()
	var failErr error
	for id, d := range pending {
		err := s.st.AddCounts(ctx, id, d)
		if errors.Is(err, store.ErrNotFound) {
			// The push's record is gone (expired by the store): nothing to count.
			s.log.DebugContext(ctx, "count update for a push no longer stored", "push_id", id)
		} else if err != nil {
			failErr = err
			break
		}
		delete(pending, id)
	}
	if failErr == nil {
		return 0
	}
	failed := pending // the failed write and those not tried
	s.log.WarnContext(ctx, "count updates failed, kept for the next flush", "pushes", len(failed), "error", failErr)
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, d := range failed {
		if _, ok := s.m[id]; !ok && len(s.m) >= MaxPendingSums {
			dropped++
			continue
		}
		s.m[id] = s.m[id].Add(d)
	}
	if dropped > 0 {
		s.log.ErrorContext(ctx, "count updates dropped: too many waiting for the store", "pushes", dropped)
		if s.dropped != nil {
			s.dropped.Add(float64(dropped))
		}
	}
	return dropped
}

// FinalFlushBudget is how long a role that stops keeps trying to write its
// last sums to a store that refuses them.
const FinalFlushBudget = 3 * time.Second

// FlushFinal flushes until every sum is written or budget has passed,
// pausing pause between tries: for a role that stops, whose sums are lost
// with it. It returns how many pushes' sums it dropped.
func (s *Sums) FlushFinal(ctx context.Context, budget, pause time.Duration) (dropped int) {
	deadline := time.Now().Add(budget)
	for {
		dropped += s.Flush(ctx)
		n := s.Len()
		if n == 0 {
			return dropped
		}
		if !time.Now().Add(pause).Before(deadline) {
			s.log.ErrorContext(ctx, "counts not written before stopping", "pushes", n)
			return dropped
		}
		time.Sleep(pause)
	}
}

// Summed is a Store whose counter updates go to Sums: recording an
// outcome then fails only if the outcome itself cannot be set, and its
// count is written with the next Flush.
type Summed struct {
	Store
	Sums *Sums
	// Delay, when set, is told how long after its append each message
	// that an Ack newly records as acked was acknowledged (for a latency
	// histogram).
	Delay func(time.Duration)
}

// AddCounts adds delta to the push's sum.
func (s Summed) AddCounts(_ context.Context, id string, delta store.Counts) error {
	s.Sums.Add(id, delta)
	return nil
}
