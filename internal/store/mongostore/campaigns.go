package mongostore

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mopush/mopush/internal/store"
)

var _ store.Campaigns = (*Store)(nil)

// CreateCampaign stores a new campaign with Version 1 and sets c.Version. A
// taken id is store.ErrConflict.
func (s *Store) CreateCampaign(ctx context.Context, c *store.Campaign) error {
	doc := toCampaignDoc(c)
	doc.Version = 1
	err := s.do(ctx, "create campaign", func(ctx context.Context) error {
		_, err := s.campaigns.InsertOne(ctx, doc)
		return err
	})
	if err != nil {
		return err
	}
	c.Version = doc.Version
	return nil
}

// Campaign returns the campaign with the id, or store.ErrNotFound.
func (s *Store) Campaign(ctx context.Context, id string) (*store.Campaign, error) {
	var d campaignDoc
	err := s.do(ctx, "campaign", func(ctx context.Context) error {
		return findByID(ctx, s.campaigns, "campaign", id, &d)
	})
	if err != nil {
		return nil, err
	}
	return d.campaign(), nil
}

// CampaignsByApp returns up to limit campaigns of an app, newest first: those
// with an id below after, or the newest when after is empty.
func (s *Store) CampaignsByApp(ctx context.Context, appID, after string, limit int) ([]*store.Campaign, error) {
	if limit <= 0 {
		return nil, nil
	}
	filter := bson.D{{Key: "app_id", Value: appID}}
	if after != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: after}}})
	}
	docs, err := findPage[campaignDoc](ctx, s, "campaigns by app", s.campaigns, filter, -1, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*store.Campaign, len(docs))
	for i, d := range docs {
		out[i] = d.campaign()
	}
	return out, nil
}

// UpdateCampaign replaces the campaign when the stored one has c.Version
// and sets c.Version to the next one (see locks.go for how exact that is on
// FerretDB). Another stored version is store.ErrConflict, an unknown id
// store.ErrNotFound. AppID and CreatedAt keep their stored values, which are
// copied into c.
func (s *Store) UpdateCampaign(ctx context.Context, c *store.Campaign) error {
	doc := toCampaignDoc(c)
	err := s.do(ctx, "update campaign", func(ctx context.Context) error {
		defer s.serialize(s.campaigns, c.ID)()
		var old campaignDoc
		if err := findByID(ctx, s.campaigns, "campaign", c.ID, &old); err != nil {
			return err
		}
		if old.Version != c.Version {
			return versionConflict("campaign", c.ID, c.Version, old.Version)
		}
		doc.AppID, doc.CreatedAt, doc.Version = old.AppID, utc(old.CreatedAt), old.Version+1
		return replaceVersion(ctx, s.campaigns, c.ID, old.Version, doc)
	})
	if err != nil {
		return err
	}
	c.AppID, c.CreatedAt, c.Version = doc.AppID, doc.CreatedAt, doc.Version
	return nil
}
