package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ensureIndexes creates the indexes the store relies on that do not exist
// yet (by name), so every Open runs it. Existing ones are not sent again:
// FerretDB 1.24 fails on a createIndexes that repeats an existing compound
// index. Only plain and unique indexes are used: FerretDB 1.x has no TTL
// or partial indexes.
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
			{Keys: bson.D{{Key: "state", Value: 1}, {Key: "send_at", Value: 1}, {Key: "_id", Value: 1}},
				Options: options.Index().SetName("state_send_at_id")},
			{Keys: bson.D{{Key: "app_id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("app_id_id")},
		}},
		{s.counts, []mongo.IndexModel{
			{Keys: bson.D{{Key: "push_id", Value: 1}}, Options: options.Index().SetName("push_id")},
		}},
		{s.creds, []mongo.IndexModel{
			{Keys: bson.D{{Key: "app_id", Value: 1}}, Options: options.Index().SetName("app_id")},
		}},
		{s.devices, []mongo.IndexModel{
			{Keys: bson.D{{Key: "app_id", Value: 1}, {Key: "alias", Value: 1}}, Options: options.Index().SetName("app_alias")},
			{Keys: bson.D{{Key: "app_id", Value: 1}, {Key: "tags", Value: 1}, {Key: "_id", Value: 1}},
				Options: options.Index().SetName("app_tags_id")},
			{Keys: bson.D{{Key: "app_id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("app_id_id")},
		}},
		{s.campaigns, []mongo.IndexModel{
			{Keys: bson.D{{Key: "app_id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("app_id_id")},
		}},
		{s.users, []mongo.IndexModel{
			{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetName("email_unique").SetUnique(true)},
		}},
	}
	for _, set := range sets {
		missing, err := missingIndexes(ctx, set.coll, set.models)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := set.coll.Indexes().CreateMany(ctx, missing); err != nil {
			return fmt.Errorf("indexes of %s: %w", set.coll.Name(), err)
		}
	}
	return nil
}

// missingIndexes returns the models whose index name the collection lacks.
func missingIndexes(ctx context.Context, coll *mongo.Collection, models []mongo.IndexModel) ([]mongo.IndexModel, error) {
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", coll.Name(), err)
	}
	have := make(map[string]bool, len(specs))
	for _, sp := range specs {
		have[sp.Name] = true
	}
	var out []mongo.IndexModel
	for _, m := range models {
		opts := &options.IndexOptions{}
		for _, set := range m.Options.List() {
			set(opts) //nolint:errcheck // setters of index options do not fail
		}
		if opts.Name == nil || !have[*opts.Name] {
			out = append(out, m)
		}
	}
	return out, nil
}
