package pebblestore

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
)

var _ store.DeferredPushes = (*Store)(nil)

// syncTickets tells which writes a synced commit has made durable. Every
// synced commit takes a ticket before it enters the commit pipeline and,
// once done, raises synced to it; CreatePushDeferred returns, as the mark,
// a ticket taken after its write completed. The write-ahead log is one sequence, and a log that is rotated
// away is synced before the next one is used, so a synced commit that took
// its ticket after mark carries to disk every write completed before mark.
type syncTickets struct {
	next   atomic.Uint64
	synced atomic.Uint64
}

// take returns a new ticket, higher than every ticket taken before.
func (t *syncTickets) take() uint64 { return t.next.Add(1) }

// done records that the synced commit holding ticket n completed.
func (t *syncTickets) done(n uint64) {
	for {
		cur := t.synced.Load()
		if cur >= n || t.synced.CompareAndSwap(cur, n) {
			return
		}
	}
}

// covers reports whether a synced commit that took its ticket after mark
// completed.
func (t *syncTickets) covers(mark uint64) bool { return t.synced.Load() > mark }

// commitSync applies b with fsync, closes it, and records the sync.
func (s *Store) commitSync(b *pebble.Batch) error {
	n := s.tickets.take()
	if err := commit(b, pebble.Sync); err != nil {
		return err
	}
	s.tickets.done(n)
	return nil
}

// CreatePushDeferred is CreatePush without the fsync: the push is written
// to the log but may be lost in a power cut until SyncSince(mark) returns.
func (s *Store) CreatePushDeferred(ctx context.Context, p *store.Push, idemKey string) (string, uint64, error) {
	id, err := s.create(ctx, p, idemKey, pebble.NoSync)
	if err != nil {
		return "", 0, err
	}
	return id, s.tickets.take(), nil
}

// SyncSince makes durable every write completed before mark was taken. It
// writes nothing when a synced commit (a stream append, say) did so
// already; otherwise it syncs the log itself.
func (s *Store) SyncSince(ctx context.Context, mark uint64) error {
	if s.tickets.covers(mark) {
		return nil
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	if s.tickets.covers(mark) {
		return nil
	}
	n := s.tickets.take()
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("pebblestore: sync log: %w", err)
	}
	s.tickets.done(n)
	return nil
}
