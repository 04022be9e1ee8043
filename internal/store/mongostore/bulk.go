package mongostore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// ferretBulkMax is the most replace-upserts PutDevices sends to FerretDB
// in one bulk write. FerretDB 1.24 on SQLite keeps a connection of its
// pool of 100 per database for each update of a command that matched a
// document, until the command ends: a command that replaces about 100
// existing documents waits for a connection forever, and a few concurrent
// ones can block each other. 16 leaves room for the report writer's four
// flushes at once and for other calls.
const ferretBulkMax = 16

// PutDevices creates or replaces many devices like PutDevice for each, as
// replace-upserts in one unordered bulk write (on FerretDB, 16 at a time,
// one bulk write after another; see ferretBulkMax). A device given more
// than once ends as its last value: only that one is sent, since an
// unordered bulk write may apply its operations in any order. An empty
// list does nothing; an empty id fails the call before anything is
// written. On error some devices may have been written; repeating the call
// completes it. Errors map as in PutDevice, and Timeout bounds each bulk
// write.
func (s *Store) PutDevices(ctx context.Context, devs []*store.Device) error {
	devs, err := lastByID(devs)
	if err != nil {
		return err
	}
	ids := make([]string, len(devs))
	for i, d := range devs {
		ids[i] = d.ID
	}
	defer s.serializeAll(s.devices, ids)()
	models := make([]mongo.WriteModel, len(devs))
	for i, d := range devs {
		models[i] = mongo.NewReplaceOneModel().
			SetFilter(bson.D{{Key: "_id", Value: d.ID}}).
			SetReplacement(toDeviceDoc(d)).
			SetUpsert(true)
	}
	size := len(models)
	if s.bulkMax > 0 {
		size = s.bulkMax
	}
	for chunk := range slices.Chunk(models, max(size, 1)) {
		if err := s.do(ctx, "put devices", func(ctx context.Context) error { return s.upsert(ctx, chunk) }); err != nil {
			return err
		}
	}
	return nil
}

// upsert runs the replace-upserts in one unordered bulk write. Those that
// raced another insert of a new device fail on the duplicate _id; the
// documents exist then, so they are sent once more to replace them.
func (s *Store) upsert(ctx context.Context, models []mongo.WriteModel) error {
	err := s.bulkWrite(ctx, models)
	if retry := raced(err); len(retry) > 0 {
		err = s.bulkWrite(ctx, retry)
	}
	return err
}

func (s *Store) bulkWrite(ctx context.Context, models []mongo.WriteModel) error {
	_, err := s.devices.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	return err
}

// raced returns the operations of a failed bulk write to retry: all of its
// failed operations when each failed on a duplicate key, else none.
func raced(err error) []mongo.WriteModel {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil
	}
	retry := make([]mongo.WriteModel, 0, len(bwe.WriteErrors))
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we.WriteError) || we.Request == nil {
			return nil
		}
		retry = append(retry, we.Request)
	}
	return retry
}

// lastByID returns devs with each id once, at its first position, holding
// the last device given with that id. It fails on an empty id.
func lastByID(devs []*store.Device) ([]*store.Device, error) {
	at := make(map[string]int, len(devs))
	out := make([]*store.Device, 0, len(devs))
	for i, d := range devs {
		if d.ID == "" {
			return nil, fmt.Errorf("mongostore: put devices: device %d has no id", i)
		}
		if j, ok := at[d.ID]; ok {
			out[j] = d
			continue
		}
		at[d.ID] = len(out)
		out = append(out, d)
	}
	return out, nil
}

// ReplaceDevices writes news[i] where the device stored still is olds[i]
// (reccodec.SameDevice). It reads the documents, and sends a replace of
// each unchanged one that matches only the revision read (casFilter), in
// unordered bulk writes (on FerretDB 16 at a time). A bulk write tells how
// many of its replaces matched, not which: when some did not, it reads the
// revisions back, and a document that has the revision this call gave it
// was written by it. It returns the positions it did not write: devices
// written or deleted since olds were read. Each id may appear once. On
// error some devices may have been written.
func (s *Store) ReplaceDevices(ctx context.Context, olds, news []*store.Device) ([]int, error) {
	if len(olds) != len(news) {
		return nil, fmt.Errorf("mongostore: replace devices: %d read, %d new", len(olds), len(news))
	}
	if len(news) == 0 {
		return nil, nil
	}
	ids := make([]string, len(news))
	for i, d := range news {
		ids[i] = d.ID
	}
	defer s.serializeAll(s.devices, ids)()
	stored, err := s.deviceDocs(ctx, "replace devices", ids, nil)
	if err != nil {
		return nil, err
	}
	var (
		stale, sent []int
		models      []mongo.WriteModel
	)
	revs := make([]int64, len(news))
	for i, d := range news {
		doc, ok := stored[d.ID]
		if !ok || !reccodec.SameDevice(doc.device(), olds[i]) {
			stale = append(stale, i)
			continue
		}
		nd := toDeviceDoc(d)
		revs[i] = nd.Rev
		models = append(models, mongo.NewReplaceOneModel().SetFilter(s.casFilter(d.ID, doc.Rev)).SetReplacement(nd))
		sent = append(sent, i)
	}
	size := len(models)
	if s.bulkMax > 0 {
		size = s.bulkMax
	}
	var matched int64
	for chunk := range slices.Chunk(models, max(size, 1)) {
		err := s.do(ctx, "replace devices", func(ctx context.Context) error {
			res, err := s.devices.BulkWrite(ctx, chunk, options.BulkWrite().SetOrdered(false))
			if res != nil {
				matched += res.MatchedCount
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if matched == int64(len(sent)) {
		return stale, nil
	}
	sentIDs := make([]string, len(sent))
	for k, i := range sent {
		sentIDs[k] = ids[i]
	}
	after, err := s.deviceDocs(ctx, "replace devices", sentIDs, bson.D{{Key: "rev", Value: 1}})
	if err != nil {
		return nil, err
	}
	for _, i := range sent {
		if after[ids[i]].Rev != revs[i] {
			stale = append(stale, i)
		}
	}
	slices.Sort(stale)
	return stale, nil
}

// deviceDocs reads the documents of the devices ids by id, with the fields
// of projection (all when nil).
func (s *Store) deviceDocs(ctx context.Context, what string, ids []string, projection bson.D) (map[string]deviceDoc, error) {
	out := make(map[string]deviceDoc, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := s.do(ctx, what, func(ctx context.Context) error {
		opts := options.Find()
		if projection != nil {
			opts.SetProjection(projection)
		}
		cur, err := s.devices.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: unique(ids)}}}}, opts)
		if err != nil {
			return err
		}
		var docs []deviceDoc
		if err := cur.All(ctx, &docs); err != nil {
			return err
		}
		for _, d := range docs {
			out[d.ID] = d
		}
		return nil
	})
	return out, err
}

// casFilter matches a device's document while it has revision rev (0: a
// document written before revisions existed, which has none). On FerretDB
// it matches the id alone: FerretDB reads the matching document and writes
// it back in two steps anyway, so the revision would not make the replace
// atomic, and it looks a document up by an index only when the filter is
// the id alone (any other filter scans the collection). There the record
// locks every device write holds (serialize) make the read, the
// comparison and the replace one step between the callers of this process.
func (s *Store) casFilter(id string, rev int64) bson.D {
	switch {
	case s.serial != nil:
		return bson.D{{Key: "_id", Value: id}}
	case rev == 0:
		return bson.D{{Key: "_id", Value: id}, {Key: "rev", Value: bson.D{{Key: "$exists", Value: false}}}}
	}
	return bson.D{{Key: "_id", Value: id}, {Key: "rev", Value: rev}}
}
