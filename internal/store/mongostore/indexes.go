package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ensureIndexes creates the indexes the store relies on. Creating an index
// that exists with the same options does nothing, so every Open runs it.
// Only plain and unique indexes are used: FerretDB 1.x has no TTL or
// partial indexes.
func (s *Store) ensureIndexes(ctx context.Context) error {
	sets := []struct {
		coll   *mongo.Collection
		models []mongo.IndexModel
	}{
		{s.apps, []mongo.IndexModel{
			{Keys: bson.D{{Key: "key", Value: 1}}, Options: options.Index().SetName("key_unique").SetUnique(true)},
		}},
		{s.pushes, []mongo.IndexModel{
			{Keys: bson.D{{Key: "idem", Value: 1}}, Options: options.Index().SetName("idem_unique").SetUnique(true)},
			{Keys: bson.D{{Key: "idem_key", Value: 1}, {Key: "idem_gen", Value: -1}}, Options: options.Index().SetName("idem_key_gen")},
			{Keys: bson.D{{Key: "state", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("state_id")},
		}},
		{s.counts, []mongo.IndexModel{
			{Keys: bson.D{{Key: "push_id", Value: 1}}, Options: options.Index().SetName("push_id")},
		}},
		{s.creds, []mongo.IndexModel{
			{Keys: bson.D{{Key: "app_id", Value: 1}}, Options: options.Index().SetName("app_id")},
		}},
		{s.devices, []mongo.IndexModel{
			{Keys: bson.D{{Key: "app_id", Value: 1}, {Key: "alias", Value: 1}}, Options: options.Index().SetName("app_alias")},
		}},
	}
	for _, set := range sets {
		if _, err := set.coll.Indexes().CreateMany(ctx, set.models); err != nil {
			return fmt.Errorf("indexes of %s: %w", set.coll.Name(), err)
		}
	}
	return nil
}
