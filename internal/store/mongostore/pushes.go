package mongostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mopush/mopush/internal/store"
)

// CreatePush stores p and returns its id. With an idempotency key the app
// used within the window, it writes nothing and returns the earlier push's
// id (see idempotency.go). p.Counts are ignored: a new push has zero
// counts. A push whose State is store.PushScheduled is stored with that
// state and its send_at (SendAt, which must be set), which DuePushes
// queries; any other State is stored as pending. A taken id is
// store.ErrConflict.
func (s *Store) CreatePush(ctx context.Context, p *store.Push, idemKey string) (string, error) {
	if p.State == store.PushScheduled && p.SendAt.IsZero() {
		return "", fmt.Errorf("mongostore: push %q: scheduled without a send time", p.ID)
	}
	var id string
	err := s.do(ctx, "create push", func(ctx context.Context) error {
		var err error
		id, err = s.createPush(ctx, p, idemKey)
		return err
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// Push returns the push with its current counts, or store.ErrNotFound.
func (s *Store) Push(ctx context.Context, id string) (*store.Push, error) {
	var d pushDoc
	err := s.do(ctx, "push", func(ctx context.Context) error {
		err := s.pushes.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return fmt.Errorf("mongostore: push %q: %w", id, store.ErrNotFound)
		}
		if err != nil || s.cfg.Counts != CountDeltas {
			return err
		}
		d.Counts, err = s.sumDeltas(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d.push(), nil
}

// AddCounts adds delta to a push's counters: $inc on the push in CountInc
// mode, one delta document in CountDeltas mode. An unknown push is
// store.ErrNotFound.
func (s *Store) AddCounts(ctx context.Context, id string, delta store.Counts) error {
	return s.do(ctx, "add counts", func(ctx context.Context) error {
		if s.cfg.Counts == CountDeltas {
			return s.insertDelta(ctx, id, delta)
		}
		return s.incCounts(ctx, id, delta)
	})
}

// incCounts adds delta with $inc, which also tells whether the push exists.
func (s *Store) incCounts(ctx context.Context, id string, delta store.Counts) error {
	res, err := s.pushes.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{countsInc(delta)})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongostore: push %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// countsInc is the $inc of an update that adds delta to a push's counters.
func countsInc(delta store.Counts) bson.E {
	names, inc := countNames(), bson.D{}
	for i, n := range delta.Vector() {
		inc = append(inc, bson.E{Key: "counts." + names[i], Value: n})
	}
	return bson.E{Key: "$inc", Value: inc}
}

// insertDelta checks that the push exists and stores delta as a document
// of its own. Pushes are never deleted, so the check cannot go stale.
func (s *Store) insertDelta(ctx context.Context, id string, delta store.Counts) error {
	if err := s.requirePush(ctx, id); err != nil {
		return err
	}
	if delta == (store.Counts{}) {
		return nil
	}
	_, err := s.counts.InsertOne(ctx, countDeltaDoc{ID: bson.NewObjectID().Hex(), PushID: id, Counts: toCountsDoc(delta, true)})
	return err
}

// sumDeltas adds up the delta documents of a push. It sums on the client:
// FerretDB 1.24 computes only the first accumulator of a $group right, and
// deltas mode exists for FerretDB.
func (s *Store) sumDeltas(ctx context.Context, id string) (countsDoc, error) {
	cur, err := s.counts.Find(ctx, bson.D{{Key: "push_id", Value: id}},
		options.Find().SetProjection(bson.D{{Key: "counts", Value: 1}}))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	sum := make(countsDoc)
	for cur.Next(ctx) {
		var d countDeltaDoc
		if err := cur.Decode(&d); err != nil {
			return nil, err
		}
		for name, n := range d.Counts {
			sum[name] += n
		}
	}
	return sum, cur.Err()
}

// requirePush returns store.ErrNotFound when the push does not exist.
func (s *Store) requirePush(ctx context.Context, id string) error {
	ok, err := s.pushExists(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("mongostore: push %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// pushExists reports whether a push with the id is stored.
func (s *Store) pushExists(ctx context.Context, id string) (bool, error) {
	err := s.pushes.FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	return err == nil, err
}

// FinishPush adds counts and marks a push done, which takes it off the
// pending list. In CountInc mode both are one update of the push, matched
// only while it is pending. In CountDeltas mode the counts are a delta
// document whose id is the push's (push id + "/route"), inserted before the
// state is set: a finish that was interrupted and is run again finds that
// document and does not add it twice; it is inserted only after a read
// found the push pending, so that a scheduled push's routing counts are
// not taken before it is routed. Finishing a push that is not pending
// (done, scheduled or cancelled) does nothing; an unknown one is
// store.ErrNotFound.
func (s *Store) FinishPush(ctx context.Context, id string, counts store.Counts) error {
	return s.do(ctx, "finish push", func(ctx context.Context) error {
		pending := bson.D{{Key: "_id", Value: id}, {Key: "state", Value: store.PushPending}}
		update := bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: store.PushDone}}}}
		if s.cfg.Counts == CountDeltas {
			state, err := s.pushState(ctx, id)
			if err != nil || state != store.PushPending {
				return err // done already, scheduled, cancelled, or unknown
			}
			if err := s.insertRouteDelta(ctx, id, counts); err != nil {
				return err
			}
		} else if counts != (store.Counts{}) {
			update = append(update, countsInc(counts))
		}
		res, err := s.pushes.UpdateOne(ctx, pending, update)
		if err != nil || res.MatchedCount > 0 {
			return err
		}
		return s.requirePush(ctx, id) // not pending, or unknown
	})
}

// pushState returns the stored state of a push, or store.ErrNotFound.
func (s *Store) pushState(ctx context.Context, id string) (string, error) {
	var d struct {
		State string `bson:"state"`
	}
	err := s.pushes.FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: "state", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", fmt.Errorf("mongostore: push %q: %w", id, store.ErrNotFound)
	}
	return d.State, err
}

// insertRouteDelta stores a push's routing counts as the delta document
// named after it, once: a second insert finds it and adds nothing. The
// caller has found the push pending.
func (s *Store) insertRouteDelta(ctx context.Context, id string, counts store.Counts) error {
	if counts == (store.Counts{}) {
		return nil
	}
	_, err := s.counts.InsertOne(ctx, countDeltaDoc{ID: id + "/route", PushID: id, Counts: toCountsDoc(counts, true)})
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return err
}

// PendingPushes returns the ids of up to limit pending pushes, oldest first
// (push ids sort by creation time).
func (s *Store) PendingPushes(ctx context.Context, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.findIDs(ctx, "pending pushes", s.pushes, bson.D{{Key: "state", Value: store.PushPending}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// PushIDsByApp returns the ids of up to limit pushes of the app whose id
// is less than before ("" for the newest), newest first (push ids sort by
// creation time); the index on (app_id, _id) serves it.
func (s *Store) PushIDsByApp(ctx context.Context, appID, before string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	filter := bson.D{{Key: "app_id", Value: appID}}
	if before != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	return s.findIDs(ctx, "push ids by app", s.pushes, filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)))
}

// DuePushes returns the ids of up to limit scheduled pushes whose send_at
// is at or before now (at millisecond precision, as BSON dates are),
// earliest first, ties by id; the index on (state, send_at, _id) serves it.
func (s *Store) DuePushes(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	filter := bson.D{
		{Key: "state", Value: store.PushScheduled},
		{Key: "send_at", Value: bson.D{{Key: "$lte", Value: now}}},
	}
	return s.findIDs(ctx, "due pushes", s.pushes, filter,
		options.Find().SetSort(bson.D{{Key: "send_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// EndSchedule moves a scheduled push to to (store.PushPending or
// store.PushCancelled): one update of its state, filtered on state
// scheduled, so that of concurrent calls one matches and the others find
// it moved already and return false. On FerretDB, which applies the filter
// in a read of its own before the write, the store's record lock on the
// push (locks.go) serialises the calls of this process; two processes can
// still both move one push there. A push that is not scheduled is false;
// an unknown one is store.ErrNotFound.
func (s *Store) EndSchedule(ctx context.Context, id, to string) (bool, error) {
	if to != store.PushPending && to != store.PushCancelled {
		return false, fmt.Errorf("mongostore: end schedule of push %q: state %q is neither %q nor %q",
			id, to, store.PushPending, store.PushCancelled)
	}
	var moved bool
	err := s.do(ctx, "end schedule", func(ctx context.Context) error {
		defer s.serialize(s.pushes, id)()
		scheduled := bson.D{{Key: "_id", Value: id}, {Key: "state", Value: store.PushScheduled}}
		res, err := s.pushes.UpdateOne(ctx, scheduled,
			bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: to}}}})
		if err != nil {
			return err
		}
		if moved = res.MatchedCount > 0; moved {
			return nil
		}
		return s.requirePush(ctx, id) // not scheduled (any more), or unknown
	})
	if err != nil {
		return false, err
	}
	return moved, nil
}

// LeasePush sets the push's routing_until field, which no other code
// reads or writes. An unknown push is store.ErrNotFound.
func (s *Store) LeasePush(ctx context.Context, id string, until time.Time) error {
	return s.do(ctx, "lease push", func(ctx context.Context) error {
		res, err := s.pushes.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "routing_until", Value: until}}}})
		if err != nil {
			return err
		}
		if res.MatchedCount == 0 {
			return fmt.Errorf("mongostore: push %q: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// PushLease returns the push's routing_until, zero when it has none.
func (s *Store) PushLease(ctx context.Context, id string) (time.Time, error) {
	var d struct {
		Until time.Time `bson:"routing_until"`
	}
	err := s.do(ctx, "push lease", func(ctx context.Context) error {
		err := s.pushes.FindOne(ctx, bson.D{{Key: "_id", Value: id}},
			options.FindOne().SetProjection(bson.D{{Key: "routing_until", Value: 1}})).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return fmt.Errorf("mongostore: push %q: %w", id, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return time.Time{}, err
	}
	return utc(d.Until), nil
}
