package pebblestore

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
)

var _ store.Engagements = (*Store)(nil)

// CountEngagement adds 1 to push pushID's Opened (kind
// store.EngagementOpen) or Clicked (store.EngagementClick) counter the
// first time device deviceID reports that kind for it, and returns whether
// it counted. A marker key per push, device and kind remembers the report
// (see keys.go). Under the stripe of (push, device) it reads the marker
// and, when it is missing, writes it and merges the count in one batch, so
// of concurrent reports exactly one counts. The batch is committed without
// fsync, like AddCounts: a power cut may lose the marker and its count
// together, never one without the other. An unknown push is
// store.ErrNotFound; another kind is an error.
func (s *Store) CountEngagement(ctx context.Context, pushID, deviceID, kind string) (bool, error) {
	delta, err := store.EngagementDelta(kind)
	if err != nil {
		return false, fmt.Errorf("pebblestore: engagement of push %q: %w", pushID, err)
	}
	if err := s.begin(ctx); err != nil {
		return false, err
	}
	defer s.end()
	key := engagedKey(pushID, deviceID, kind)
	set := s.locks.lock([]uint16{s.locks.index(tagEngaged, string(engagedPrefix(pushID, deviceID)))})
	defer s.locks.unlock(set)
	ok, err := s.pushExists(pushID)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, fmt.Errorf("pebblestore: push %q: %w", pushID, store.ErrNotFound)
	}
	seen, err := s.exists(key)
	if err != nil || seen {
		return false, err
	}
	b := s.db.NewBatch()
	b.Set(key, nil, nil)
	if err := b.Merge(countsKey(pushID), encodeCounts(delta), nil); err != nil {
		b.Close()
		return false, fmt.Errorf("pebblestore: count engagement: %w", err)
	}
	if err := commit(b, pebble.NoSync); err != nil {
		return false, err
	}
	return true, nil
}
