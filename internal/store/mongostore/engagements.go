package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mopush/mopush/internal/store"
)

// CountEngagement adds 1 to push pushID's opened (kind
// store.EngagementOpen) or clicked (store.EngagementClick) counter the
// first time device deviceID reports that kind for it, and returns whether
// it counted. The report is remembered by a push_counts document whose _id
// is engagementID(pushID, kind, deviceID): the unique _id lets one insert
// of it succeed, and a duplicate key means the report was counted before.
//
// In CountDeltas mode that document is the delta itself, {opened: 1} or
// {clicked: 1}, which Push sums with the others: one insert is both the
// check and the count, atomic on every server. In CountInc mode it is a
// marker without counts (nothing sums push_counts in that mode, and a sum
// would add nothing for it), and the count is a $inc of the push after the
// insert: a crash or an error between the two loses that one count, since
// the marker stays and a repeated report is not counted again.
//
// An unknown push is store.ErrNotFound; another kind is an error.
func (s *Store) CountEngagement(ctx context.Context, pushID, deviceID, kind string) (bool, error) {
	delta, err := store.EngagementDelta(kind)
	if err != nil {
		return false, fmt.Errorf("mongostore: engagement of push %q: %w", pushID, err)
	}
	var counted bool
	err = s.do(ctx, "count engagement", func(ctx context.Context) error {
		if err := s.requirePush(ctx, pushID); err != nil {
			return err
		}
		doc := countDeltaDoc{ID: engagementID(pushID, kind, deviceID), PushID: pushID}
		if s.cfg.Counts == CountDeltas {
			doc.Counts = toCountsDoc(delta, true)
		}
		_, err := s.counts.InsertOne(ctx, doc)
		if mongo.IsDuplicateKeyError(err) {
			return nil // counted before
		}
		if err != nil {
			return err
		}
		counted = true
		if s.cfg.Counts == CountDeltas {
			return nil
		}
		return s.incCounts(ctx, pushID, delta)
	})
	if err != nil {
		return false, err
	}
	return counted, nil
}

// engagementID is the _id of the push_counts document of device deviceID's
// report of kind for push pushID. Push ids hold no slash (they are the
// gateway's time-ordered ids), and neither does a kind, so two reports
// never share an id.
func engagementID(pushID, kind, deviceID string) string {
	return pushID + "/" + kind + "/" + deviceID
}
