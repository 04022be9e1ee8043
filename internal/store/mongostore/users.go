package mongostore

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mopush/mopush/internal/store"
)

var _ store.Users = (*Store)(nil)

// Emails are unique through the unique index on email: an insert or a
// replacement that would give a second user an email fails with a
// duplicate key, which is store.ErrConflict. Both MongoDB and FerretDB
// check the index in the same step as the write.

// CreateUser stores a new user with Version 1 and its normalised email, and
// sets u.Email and u.Version. A taken id or email is store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	doc := toUserDoc(u)
	doc.Version = 1
	err := s.do(ctx, "create user", func(ctx context.Context) error {
		_, err := s.users.InsertOne(ctx, doc)
		return err
	})
	if err != nil {
		return err
	}
	u.Email, u.Version = doc.Email, doc.Version
	return nil
}

// User returns the user with the id, or store.ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (*store.User, error) {
	var d userDoc
	err := s.do(ctx, "user", func(ctx context.Context) error {
		return findByID(ctx, s.users, "user", id, &d)
	})
	if err != nil {
		return nil, err
	}
	return d.user(), nil
}

// UserByEmail returns the user with the email in any case, or
// store.ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	var d userDoc
	err := s.do(ctx, "user by email", func(ctx context.Context) error {
		return s.users.FindOne(ctx, bson.D{{Key: "email", Value: store.NormalizeEmail(email)}}).Decode(&d)
	})
	if err != nil {
		return nil, err
	}
	return d.user(), nil
}

// ListUsers returns up to limit users with an id above after, by id.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]*store.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	filter := bson.D{}
	if after != "" {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}
	}
	docs, err := findPage[userDoc](ctx, s, "list users", s.users, filter, 1, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*store.User, len(docs))
	for i, d := range docs {
		out[i] = d.user()
	}
	return out, nil
}

// UpdateUser replaces the user when the stored one has u.Version and sets
// u.Email (normalised) and u.Version (see locks.go for how exact that is on
// FerretDB). Another stored version is store.ErrConflict, an unknown id
// store.ErrNotFound, and an email another user has store.ErrConflict; the
// old email is free once the replacement is written. CreatedAt keeps its
// stored value, which is copied into u.
func (s *Store) UpdateUser(ctx context.Context, u *store.User) error {
	doc := toUserDoc(u)
	err := s.do(ctx, "update user", func(ctx context.Context) error {
		defer s.serialize(s.users, u.ID)()
		var old userDoc
		if err := findByID(ctx, s.users, "user", u.ID, &old); err != nil {
			return err
		}
		if old.Version != u.Version {
			return versionConflict("user", u.ID, u.Version, old.Version)
		}
		doc.CreatedAt, doc.Version = utc(old.CreatedAt), old.Version+1
		return replaceVersion(ctx, s.users, u.ID, old.Version, doc)
	})
	if err != nil {
		return err
	}
	u.Email, u.CreatedAt, u.Version = doc.Email, doc.CreatedAt, doc.Version
	return nil
}

// DeleteUser removes a user, which frees its email; deleting a missing one
// is not an error.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.do(ctx, "delete user", func(ctx context.Context) error {
		defer s.serialize(s.users, id)()
		_, err := s.users.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
		return err
	})
}
