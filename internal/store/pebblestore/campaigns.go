package pebblestore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
)

var _ store.Campaigns = (*Store)(nil)

// CreateCampaign stores a new campaign with Version 1, durably, together
// with its entry in the app's campaign index, and sets c.Version. A taken id
// is store.ErrConflict.
func (s *Store) CreateCampaign(ctx context.Context, c *store.Campaign) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(tagCampaign, c.ID)})
	defer s.locks.unlock(set)

	taken, err := s.exists(campaignKey(c.ID))
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("pebblestore: campaign %q: %w", c.ID, store.ErrConflict)
	}
	rec := *c
	rec.Version = 1
	val, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("pebblestore: encode campaign: %w", err)
	}
	b := s.db.NewBatch()
	b.Set(campaignKey(c.ID), val, nil)
	b.Set(appCampaignKey(c.AppID, c.ID), nil, nil)
	if err := s.commitSync(b); err != nil {
		return err
	}
	c.Version = rec.Version
	return nil
}

// Campaign returns the campaign with the id, or store.ErrNotFound.
func (s *Store) Campaign(ctx context.Context, id string) (*store.Campaign, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	return s.campaign(id)
}

func (s *Store) campaign(id string) (*store.Campaign, error) {
	c := &store.Campaign{}
	ok, err := s.getJSON(campaignKey(id), c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("pebblestore: campaign %q: %w", id, store.ErrNotFound)
	}
	return c, nil
}

// CampaignsByApp returns up to limit campaigns of an app, newest first: those
// with an id below after, or the newest when after is empty. It walks the
// app's campaign index backwards and reads each campaign.
func (s *Store) CampaignsByApp(ctx context.Context, appID, after string, limit int) ([]*store.Campaign, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	prefix := appCampaignPrefix(appID)
	it, err := s.prefixIter(prefix)
	if err != nil {
		return nil, err
	}
	valid := it.Last()
	if after != "" {
		valid = it.SeekLT(appCampaignKey(appID, after))
	}
	var ids []string
	for ; valid && len(ids) < limit; valid = it.Prev() {
		ids = append(ids, string(it.Key()[len(prefix):]))
	}
	if err := closeIter(it, it.Error()); err != nil {
		return nil, err
	}
	out := make([]*store.Campaign, 0, len(ids))
	for _, id := range ids {
		c, err := s.campaign(id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// UpdateCampaign stores c, durably, when the stored campaign has c.Version,
// and sets c.Version to the next one. The campaign's stripe is held from the
// read of the stored version to the commit, so of concurrent updates from
// one version exactly one succeeds; the others get store.ErrConflict. An
// unknown id is store.ErrNotFound. AppID and CreatedAt keep their stored
// values, which are copied into c.
func (s *Store) UpdateCampaign(ctx context.Context, c *store.Campaign) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(tagCampaign, c.ID)})
	defer s.locks.unlock(set)

	old, err := s.campaign(c.ID)
	if err != nil {
		return err
	}
	if old.Version != c.Version {
		return fmt.Errorf("pebblestore: campaign %q version %d, stored %d: %w",
			c.ID, c.Version, old.Version, store.ErrConflict)
	}
	rec := *c
	rec.AppID, rec.CreatedAt, rec.Version = old.AppID, old.CreatedAt, old.Version+1
	val, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("pebblestore: encode campaign: %w", err)
	}
	if err := s.db.Set(campaignKey(c.ID), val, pebble.Sync); err != nil {
		return fmt.Errorf("pebblestore: update campaign: %w", err)
	}
	c.AppID, c.CreatedAt, c.Version = rec.AppID, rec.CreatedAt, rec.Version
	return nil
}
