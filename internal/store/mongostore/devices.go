package mongostore

import (
	"context"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mopush/mopush/internal/store"
)

// PutDevice creates or replaces a device. The alias index is an index on
// the device documents, so it follows by itself.
func (s *Store) PutDevice(ctx context.Context, d *store.Device) error {
	return s.do(ctx, "put device", func(ctx context.Context) error {
		defer s.serialize(s.devices, d.ID)()
		doc := toDeviceDoc(d)
		filter := bson.D{{Key: "_id", Value: d.ID}}
		opts := options.Replace().SetUpsert(true)
		_, err := s.devices.ReplaceOne(ctx, filter, doc, opts)
		if mongo.IsDuplicateKeyError(err) {
			// Two upserts of a new device raced to insert it; the
			// document exists now, so replacing it works.
			_, err = s.devices.ReplaceOne(ctx, filter, doc, opts)
		}
		return err
	})
}

// maxUpdateAttempts bounds the reads of one UpdateDevice that lost a race
// with another write of the device.
const maxUpdateAttempts = 16

// UpdateDevice changes a device in place: it reads the document, and
// replaces it only while it still has the revision read (casFilter);
// otherwise it reads again. After maxUpdateAttempts lost races it fails
// with store.ErrConflict.
func (s *Store) UpdateDevice(ctx context.Context, id string, change func(*store.Device) bool) (*store.Device, error) {
	for range maxUpdateAttempts {
		var (
			out     *store.Device
			matched bool
		)
		err := s.do(ctx, "update device", func(ctx context.Context) error {
			defer s.serialize(s.devices, id)()
			var doc deviceDoc
			if err := s.devices.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
				return err
			}
			old := doc.device()
			d := old.Clone()
			if !change(d) {
				out, matched = old, true
				return nil
			}
			if d.ID != id {
				return fmt.Errorf("the change gave device %q the id %q", id, d.ID)
			}
			res, err := s.devices.ReplaceOne(ctx, s.casFilter(id, doc.Rev), toDeviceDoc(d))
			if err != nil {
				return err
			}
			out, matched = d, res.MatchedCount == 1
			return nil
		})
		if err != nil {
			return nil, err
		}
		if matched {
			return out, nil
		}
	}
	return nil, fmt.Errorf("mongostore: update device %q: %d writes raced it: %w", id, maxUpdateAttempts, store.ErrConflict)
}

// DeleteDevice removes a device; its alias index entry goes with the
// document. Deleting a missing device is not an error.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	return s.do(ctx, "delete device", func(ctx context.Context) error {
		defer s.serialize(s.devices, id)()
		_, err := s.devices.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
		return err
	})
}

// Devices returns the devices with the ids, by position; a missing one is
// nil.
func (s *Store) Devices(ctx context.Context, ids []string) ([]*store.Device, error) {
	out := make([]*store.Device, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var docs []deviceDoc
	err := s.do(ctx, "devices", func(ctx context.Context) error {
		cur, err := s.devices.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: unique(ids)}}}})
		if err != nil {
			return err
		}
		return cur.All(ctx, &docs)
	})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]deviceDoc, len(docs))
	for _, d := range docs {
		byID[d.ID] = d
	}
	for i, id := range ids {
		if d, ok := byID[id]; ok {
			out[i] = d.device()
		}
	}
	return out, nil
}

// DeviceIDsByAlias returns the ids of an app's devices that have one of the
// aliases, each once, in no particular order.
func (s *Store) DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error) {
	aliases = slices.DeleteFunc(unique(aliases), func(a string) bool { return a == "" })
	if len(aliases) == 0 {
		return nil, nil
	}
	filter := bson.D{{Key: "app_id", Value: appID}, {Key: "alias", Value: bson.D{{Key: "$in", Value: aliases}}}}
	return s.findIDs(ctx, "device ids by alias", s.devices, filter, options.Find())
}

// DeviceIDsByTags returns, sorted, the ids of up to limit devices of the
// app that have one of tags and an id greater than after, each once: one
// query on the tags array, which matches a document once however many of
// its tags it has, in _id order, served by the index on (app_id, tags,
// _id).
func (s *Store) DeviceIDsByTags(ctx context.Context, appID string, tags []string, after string, limit int) ([]string, error) {
	if limit <= 0 || len(tags) == 0 {
		return nil, nil
	}
	filter := bson.D{{Key: "app_id", Value: appID}, {Key: "tags", Value: bson.D{{Key: "$in", Value: unique(tags)}}}}
	if after != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	return s.findIDs(ctx, "device ids by tags", s.devices, filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// DeviceIDsByApp returns, sorted, the ids of up to limit devices of the
// app with an id greater than after: one query in _id order, served by
// the index on (app_id, _id).
func (s *Store) DeviceIDsByApp(ctx context.Context, appID string, after string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	filter := bson.D{{Key: "app_id", Value: appID}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}
	return s.findIDs(ctx, "device ids by app", s.devices, filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// findIDs returns the _id of each document of coll that filter matches, in
// the order opts sort them.
func (s *Store) findIDs(ctx context.Context, what string, coll *mongo.Collection, filter bson.D, opts *options.FindOptionsBuilder) ([]string, error) {
	var docs []struct {
		ID string `bson:"_id"`
	}
	err := s.do(ctx, what, func(ctx context.Context) error {
		cur, err := coll.Find(ctx, filter, opts.SetProjection(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			return err
		}
		return cur.All(ctx, &docs)
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

// unique returns the distinct strings of ss in first-seen order, in a new
// slice.
func unique(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
