package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mopush/mopush/internal/store"
)

// CreateApp stores a new app. A taken id or key is store.ErrConflict; the
// app is one document, so a refused app leaves nothing behind.
func (s *Store) CreateApp(ctx context.Context, a *store.App) error {
	return s.do(ctx, "create app", func(ctx context.Context) error {
		_, err := s.apps.InsertOne(ctx, toAppDoc(a))
		return err
	})
}

// AppByKey returns the app with the public key, or store.ErrNotFound.
func (s *Store) AppByKey(ctx context.Context, key string) (*store.App, error) {
	return s.findApp(ctx, "app by key", bson.D{{Key: "key", Value: key}})
}

// AppByID returns the app with the id, or store.ErrNotFound.
func (s *Store) AppByID(ctx context.Context, id string) (*store.App, error) {
	return s.findApp(ctx, "app by id", bson.D{{Key: "_id", Value: id}})
}

// ListApps returns up to limit apps with an id above after, by id.
func (s *Store) ListApps(ctx context.Context, after string, limit int) ([]*store.App, error) {
	if limit <= 0 {
		return nil, nil
	}
	filter := bson.D{}
	if after != "" {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}
	}
	docs, err := findPage[appDoc](ctx, s, "list apps", s.apps, filter, 1, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*store.App, len(docs))
	for i, d := range docs {
		out[i] = d.app()
	}
	return out, nil
}

func (s *Store) findApp(ctx context.Context, what string, filter bson.D) (*store.App, error) {
	var d appDoc
	err := s.do(ctx, what, func(ctx context.Context) error {
		return s.apps.FindOne(ctx, filter).Decode(&d)
	})
	if err != nil {
		return nil, err
	}
	return d.app(), nil
}

// UpdateSettings replaces an app's settings; an unknown app is
// store.ErrNotFound. Concurrent updates of one app: the last one wins.
func (s *Store) UpdateSettings(ctx context.Context, appID string, st store.Settings) error {
	return s.do(ctx, "update settings", func(ctx context.Context) error {
		res, err := s.apps.UpdateOne(ctx, bson.D{{Key: "_id", Value: appID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "settings", Value: toSettingsDoc(st)}}}})
		if err != nil {
			return err
		}
		if res.MatchedCount == 0 {
			return fmt.Errorf("mongostore: app %q: %w", appID, store.ErrNotFound)
		}
		return nil
	})
}
