package pebblestore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
)

var _ store.Users = (*Store)(nil)

// Emails are unique through the index entry email -> user id, written in the
// same batch as the user. Taking an email (CreateUser, UpdateUser to a new
// email) holds the stripe of the email, so of two callers that want the
// same free email one writes the entry and the other finds it. Giving an
// email up (UpdateUser away from it, DeleteUser) holds only the user's
// stripe: while the entry exists nobody else writes it, and every change to
// the user, who owns it, holds that stripe.

// CreateUser stores a new user with Version 1 and its normalised email,
// durably, and sets u.Email and u.Version. A taken id or email is
// store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	email := store.NormalizeEmail(u.Email)
	set := s.locks.lock([]uint16{s.locks.index(tagUser, u.ID), s.locks.index(tagEmail, email)})
	defer s.locks.unlock(set)

	for _, k := range [][]byte{userKey(u.ID), emailKey(email)} {
		taken, err := s.exists(k)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("pebblestore: user %q email %q: %w", u.ID, email, store.ErrConflict)
		}
	}
	rec := *u
	rec.Email, rec.Version = email, 1
	val, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("pebblestore: encode user: %w", err)
	}
	b := s.db.NewBatch()
	b.Set(userKey(u.ID), val, nil)
	b.Set(emailKey(email), []byte(u.ID), nil)
	if err := s.commitSync(b); err != nil {
		return err
	}
	u.Email, u.Version = rec.Email, rec.Version
	return nil
}

// User returns the user with the id, or store.ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (*store.User, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	return s.user(id)
}

// UserByEmail returns the user with the email in any case, or
// store.ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	email = store.NormalizeEmail(email)
	id, ok, err := s.get(emailKey(email))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("pebblestore: user email %q: %w", email, store.ErrNotFound)
	}
	return s.user(string(id))
}

func (s *Store) user(id string) (*store.User, error) {
	u := &store.User{}
	ok, err := s.getJSON(userKey(id), u)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("pebblestore: user %q: %w", id, store.ErrNotFound)
	}
	return u, nil
}

// ListUsers returns up to limit users with an id above after, by id.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]*store.User, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	it, err := s.prefixIter([]byte{tagUser})
	if err != nil {
		return nil, err
	}
	valid := it.First()
	if after != "" {
		// after+"\x00" is the smallest id above after.
		valid = it.SeekGE(userKey(after + "\x00"))
	}
	var out []*store.User
	for ; valid && len(out) < limit; valid = it.Next() {
		u := &store.User{}
		if err := json.Unmarshal(it.Value(), u); err != nil {
			return nil, closeIter(it, fmt.Errorf("pebblestore: decode user: %w", err))
		}
		out = append(out, u)
	}
	return out, closeIter(it, it.Error())
}

// UpdateUser stores u, durably, when the stored user has u.Version, moves
// the email index entry when the email changed, and sets u.Email and
// u.Version. The user's stripe is held from the read of the stored version
// to the commit, so of concurrent updates from one version exactly one
// succeeds; the others get store.ErrConflict, as does an email another user
// has. An unknown id is store.ErrNotFound. CreatedAt keeps its stored value,
// which is copied into u.
func (s *Store) UpdateUser(ctx context.Context, u *store.User) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	email := store.NormalizeEmail(u.Email)
	set := s.locks.lock([]uint16{s.locks.index(tagUser, u.ID), s.locks.index(tagEmail, email)})
	defer s.locks.unlock(set)

	old, err := s.user(u.ID)
	if err != nil {
		return err
	}
	if old.Version != u.Version {
		return fmt.Errorf("pebblestore: user %q version %d, stored %d: %w",
			u.ID, u.Version, old.Version, store.ErrConflict)
	}
	rec := *u
	rec.Email, rec.CreatedAt, rec.Version = email, old.CreatedAt, old.Version+1
	b, err := s.userBatch(old, &rec)
	if err != nil {
		return err
	}
	if err := s.commitSync(b); err != nil {
		return err
	}
	u.Email, u.CreatedAt, u.Version = rec.Email, rec.CreatedAt, rec.Version
	return nil
}

// userBatch returns a batch that replaces old with rec and moves the email
// index entry when the email changed; store.ErrConflict when another user
// has rec's email. The caller holds the stripes of the user and rec's email.
func (s *Store) userBatch(old, rec *store.User) (*pebble.Batch, error) {
	if rec.Email != old.Email {
		taken, err := s.exists(emailKey(rec.Email))
		if err != nil {
			return nil, err
		}
		if taken {
			return nil, fmt.Errorf("pebblestore: user email %q: %w", rec.Email, store.ErrConflict)
		}
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("pebblestore: encode user: %w", err)
	}
	b := s.db.NewBatch()
	if rec.Email != old.Email {
		b.Delete(emailKey(old.Email), nil)
		b.Set(emailKey(rec.Email), []byte(rec.ID), nil)
	}
	b.Set(userKey(rec.ID), val, nil)
	return b, nil
}

// DeleteUser removes a user and its email index entry, durably; deleting a
// missing user is not an error.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(tagUser, id)})
	defer s.locks.unlock(set)

	u := &store.User{}
	ok, err := s.getJSON(userKey(id), u)
	if !ok || err != nil {
		return err
	}
	b := s.db.NewBatch()
	b.Delete(userKey(id), nil)
	b.Delete(emailKey(u.Email), nil)
	return s.commitSync(b)
}
