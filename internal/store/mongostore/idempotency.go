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

// Idempotency keys live on the pushes that hold them, and taking a key is
// one insert, so a push and its key are written together or not at all.
//
// A key of an app has generations 1, 2, …; the push with the highest
// generation holds the key. A push's unique idem field names its key and
// generation, so of the callers that try to take the same generation one
// insert succeeds and the others get a duplicate key, look again, and find
// the winner. When the holder's window has lapsed, the next caller takes the
// next generation. Nothing is ever updated, which keeps this correct on
// servers whose updates are not atomic (FerretDB 1.x), and nothing expires
// by TTL: the window is checked against Config.Now.

// createAttempts bounds how often CreatePush looks again after losing a
// race for a key. Each loss means another caller took the key, and then the
// next look finds it held, so two attempts suffice unless the window is
// shorter than a round trip.
const createAttempts = 8

// createPush inserts p, taking idemKey when it is not empty.
func (s *Store) createPush(ctx context.Context, p *store.Push, idemKey string) (string, error) {
	doc := toPushDoc(p)
	if idemKey == "" {
		doc.Idem = idemByID(p.ID)
		if _, err := s.pushes.InsertOne(ctx, doc); err != nil {
			return "", err
		}
		return p.ID, nil
	}
	key := scoped(p.AppID, idemKey)
	for attempt := range createAttempts {
		now := s.cfg.Now()
		holder, held, err := s.keyHolder(ctx, key)
		if err != nil {
			return "", err
		}
		if held && s.withinWindow(holder.IdemAt, now) {
			return holder.ID, nil
		}
		if attempt > 0 {
			// The last insert hit a duplicate and the key is free: the
			// duplicate was the push id.
			if err := s.requireFreeID(ctx, p.ID); err != nil {
				return "", err
			}
		}
		gen := holder.IdemGen + 1
		doc.Idem, doc.IdemKey, doc.IdemGen, doc.IdemAt = idemByGen(key, gen), key, gen, now
		_, err = s.pushes.InsertOne(ctx, doc)
		if err == nil {
			return p.ID, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return "", err
		}
	}
	return "", errContended
}

// keyHolder returns the push that holds the newest generation of key.
func (s *Store) keyHolder(ctx context.Context, key string) (pushDoc, bool, error) {
	var d pushDoc
	err := s.pushes.FindOne(ctx, bson.D{{Key: "idem_key", Value: key}}, options.FindOne().
		SetSort(bson.D{{Key: "idem_gen", Value: -1}}).
		SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "idem_gen", Value: 1}, {Key: "idem_at", Value: 1}}),
	).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return pushDoc{}, false, nil
	}
	if err != nil {
		return pushDoc{}, false, err
	}
	return d, true, nil
}

// requireFreeID returns store.ErrConflict when a push with the id exists.
func (s *Store) requireFreeID(ctx context.Context, id string) error {
	taken, err := s.pushExists(ctx, id)
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("mongostore: push %q: %w", id, store.ErrConflict)
	}
	return nil
}

// withinWindow reports whether a key taken at took is still remembered.
func (s *Store) withinWindow(took, now time.Time) bool {
	return now.Before(took.Add(s.cfg.IdempotencyWindow))
}

// scoped names something of an app (an idempotency key, a vendor); the
// length prefix keeps any app id and name apart.
func scoped(appID, key string) string {
	return fmt.Sprintf("%d:%s:%s", len(appID), appID, key)
}

// idemByID is the idem field of a push without a key.
func idemByID(pushID string) string { return "i:" + pushID }

// idemByGen is the idem field of the push holding generation gen of key.
func idemByGen(key string, gen int64) string { return fmt.Sprintf("k:%d:%s", gen, key) }
