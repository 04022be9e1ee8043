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

var (
	_ store.Credentials = (*Store)(nil)
	_ store.Credentials = (*Session)(nil)
)

// PutCredential creates or replaces the sealed credential of one vendor of
// an app. The store never sees credentials in clear.
func (s *Store) PutCredential(ctx context.Context, appID, vendor string, sealed []byte) error {
	return s.do(ctx, "put credential", func(ctx context.Context) error {
		doc := credentialDoc{ID: scoped(appID, vendor), AppID: appID, Vendor: vendor, Sealed: sealed}
		filter := bson.D{{Key: "_id", Value: doc.ID}}
		opts := options.Replace().SetUpsert(true)
		_, err := s.creds.ReplaceOne(ctx, filter, doc, opts)
		if mongo.IsDuplicateKeyError(err) {
			// A concurrent upsert inserted it first; now it exists.
			_, err = s.creds.ReplaceOne(ctx, filter, doc, opts)
		}
		return err
	})
}

// Credential returns the sealed credential, or store.ErrNotFound.
func (s *Store) Credential(ctx context.Context, appID, vendor string) ([]byte, error) {
	var d credentialDoc
	err := s.do(ctx, "credential", func(ctx context.Context) error {
		err := s.creds.FindOne(ctx, bson.D{{Key: "_id", Value: scoped(appID, vendor)}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return fmt.Errorf("mongostore: credential %s/%s: %w", appID, vendor, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return d.Sealed, nil
}

// CredentialVendors lists the vendors an app has credentials for, sorted.
func (s *Store) CredentialVendors(ctx context.Context, appID string) ([]string, error) {
	var docs []credentialDoc
	err := s.do(ctx, "credential vendors", func(ctx context.Context) error {
		cur, err := s.creds.Find(ctx, bson.D{{Key: "app_id", Value: appID}},
			options.Find().SetProjection(bson.D{{Key: "vendor", Value: 1}}))
		if err != nil {
			return err
		}
		return cur.All(ctx, &docs)
	})
	if err != nil {
		return nil, err
	}
	var vendors []string
	for _, d := range docs {
		vendors = append(vendors, d.Vendor)
	}
	slices.Sort(vendors)
	return vendors, nil
}

// DeleteCredential removes one credential; deleting a missing one is not an
// error.
func (s *Store) DeleteCredential(ctx context.Context, appID, vendor string) error {
	return s.do(ctx, "delete credential", func(ctx context.Context) error {
		_, err := s.creds.DeleteOne(ctx, bson.D{{Key: "_id", Value: scoped(appID, vendor)}})
		return err
	})
}

// PutCredential is Store.PutCredential.
func (ss *Session) PutCredential(ctx context.Context, appID, vendor string, sealed []byte) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.PutCredential(ctx, appID, vendor, sealed)
}

// Credential is Store.Credential.
func (ss *Session) Credential(ctx context.Context, appID, vendor string) ([]byte, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.Credential(ctx, appID, vendor)
}

// CredentialVendors is Store.CredentialVendors.
func (ss *Session) CredentialVendors(ctx context.Context, appID string) ([]string, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.CredentialVendors(ctx, appID)
}

// DeleteCredential is Store.DeleteCredential.
func (ss *Session) DeleteCredential(ctx context.Context, appID, vendor string) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.DeleteCredential(ctx, appID, vendor)
}
