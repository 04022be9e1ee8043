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
