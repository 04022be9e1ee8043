package mongostore

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mopush/mopush/internal/store"
)

// Compare-and-set. UpdateCampaign and UpdateUser replace a document only
// if it still has the version the caller read: ReplaceOne with the filter
// {_id, version}. MongoDB applies that filter and the replacement as one
// atomic step, so of concurrent updates from one version exactly one
// matches. FerretDB 1.x reads the matching document and writes it back in
// two steps, so two callers can both match; on FerretDB the store therefore
// also holds a per-record mutex around each read-compare-replace, which
// makes compare-and-set exact between the callers of one process only.

const lockStripes = 256

// recordLocks serialises updates of one record without a lock over the
// whole store: a record maps to one of lockStripes mutexes by the hash of
// its collection and id.
type recordLocks struct {
	seed maphash.Seed
	mu   [lockStripes]sync.Mutex
}

func newRecordLocks() *recordLocks {
	return &recordLocks{seed: maphash.MakeSeed()}
}

// lock locks the stripe of record id of coll and returns its unlock.
func (l *recordLocks) lock(coll, id string) (unlock func()) {
	return l.lockAll(coll, []string{id})
}

// lockAll locks the stripes of records ids of coll, in stripe order so
// that two callers never wait for each other, and returns the unlock.
func (l *recordLocks) lockAll(coll string, ids []string) (unlock func()) {
	stripes := make([]uint64, 0, len(ids))
	for _, id := range ids {
		var h maphash.Hash
		h.SetSeed(l.seed)
		h.WriteString(coll)
		h.WriteByte(0)
		h.WriteString(id)
		stripes = append(stripes, h.Sum64()%lockStripes)
	}
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	for _, i := range stripes {
		l.mu[i].Lock()
	}
	return func() {
		for _, i := range stripes {
			l.mu[i].Unlock()
		}
	}
}

// serializeAll is serialize for many records of coll.
func (s *Store) serializeAll(coll *mongo.Collection, ids []string) (unlock func()) {
	if s.serial == nil {
		return func() {}
	}
	return s.serial.lockAll(coll.Name(), ids)
}

// serialize locks record id of coll on FerretDB (see recordLocks) and
// returns the unlock; on MongoDB it locks nothing.
func (s *Store) serialize(coll *mongo.Collection, id string) (unlock func()) {
	if s.serial == nil {
		return func() {}
	}
	return s.serial.lock(coll.Name(), id)
}

// replaceVersion replaces the document id of coll with doc if the stored one
// has version v; a document that is missing or has another version is
// store.ErrConflict.
func replaceVersion(ctx context.Context, coll *mongo.Collection, id string, v int64, doc any) error {
	res, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: v}}, doc)
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongostore: %s %q version %d: %w", coll.Name(), id, v, store.ErrConflict)
	}
	return nil
}

// findByID decodes the document id of coll into v, or returns
// store.ErrNotFound naming what.
func findByID(ctx context.Context, coll *mongo.Collection, what, id string, v any) error {
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(v)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("mongostore: %s %q: %w", what, id, store.ErrNotFound)
	}
	return err
}

// versionConflict is the error of an update from version v of a record
// stored with version stored.
func versionConflict(what, id string, v, stored int64) error {
	return fmt.Errorf("mongostore: %s %q version %d, stored %d: %w", what, id, v, stored, store.ErrConflict)
}

// findPage returns up to limit documents of coll that match filter, sorted
// by _id (order 1 ascending, -1 descending), as op.
func findPage[D any](ctx context.Context, s *Store, op string, coll *mongo.Collection, filter bson.D, order, limit int) ([]D, error) {
	var docs []D
	err := s.do(ctx, op, func(ctx context.Context) error {
		cur, err := coll.Find(ctx, filter, options.Find().
			SetSort(bson.D{{Key: "_id", Value: order}}).
			SetLimit(int64(limit)))
		if err != nil {
			return err
		}
		return cur.All(ctx, &docs)
	})
	return docs, err
}
