package pebblestore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mopush/mopush/internal/store"
)

// CreateApp stores a new app, durably. It returns store.ErrConflict when the
// id or the key is taken.
func (s *Store) CreateApp(ctx context.Context, a *store.App) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(tagApp, a.ID), s.locks.index(tagAppKey, a.Key)})
	defer s.locks.unlock(set)

	for _, k := range [][]byte{appKey(a.ID), appKeyIndex(a.Key)} {
		taken, err := s.exists(k)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("pebblestore: app %q key %q: %w", a.ID, a.Key, store.ErrConflict)
		}
	}
	val, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("pebblestore: encode app: %w", err)
	}
	b := s.db.NewBatch()
	b.Set(appKey(a.ID), val, nil)
	b.Set(appKeyIndex(a.Key), []byte(a.ID), nil)
	return s.commitSync(b)
}

// AppByKey returns the app with the public key, or store.ErrNotFound.
func (s *Store) AppByKey(ctx context.Context, key string) (*store.App, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	id, ok, err := s.get(appKeyIndex(key))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("pebblestore: app key %q: %w", key, store.ErrNotFound)
	}
	return s.app(string(id))
}

// AppByID returns the app with the id, or store.ErrNotFound.
func (s *Store) AppByID(ctx context.Context, id string) (*store.App, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	return s.app(id)
}

// ListApps returns up to limit apps with an id above after, by id.
func (s *Store) ListApps(ctx context.Context, after string, limit int) ([]*store.App, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	it, err := s.prefixIter([]byte{tagApp})
	if err != nil {
		return nil, err
	}
	valid := it.First()
	if after != "" {
		// after+"\x00" is the smallest id above after.
		valid = it.SeekGE(appKey(after + "\x00"))
	}
	var out []*store.App
	for ; valid && len(out) < limit; valid = it.Next() {
		a := &store.App{}
		if err := json.Unmarshal(it.Value(), a); err != nil {
			return nil, closeIter(it, fmt.Errorf("pebblestore: decode app: %w", err))
		}
		out = append(out, a)
	}
	return out, closeIter(it, it.Error())
}

func (s *Store) app(id string) (*store.App, error) {
	a := &store.App{}
	ok, err := s.getJSON(appKey(id), a)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("pebblestore: app %q: %w", id, store.ErrNotFound)
	}
	return a, nil
}
