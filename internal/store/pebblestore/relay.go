package pebblestore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
)

var (
	_ store.Credentials = (*Store)(nil)
	_ store.Outcomes    = (*Store)(nil)
)

// UpdateSettings replaces an app's settings.
func (s *Store) UpdateSettings(ctx context.Context, appID string, st store.Settings) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(tagApp, appID)})
	defer s.locks.unlock(set)
	a, err := s.app(appID)
	if err != nil {
		return err
	}
	a.Settings = st
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.db.Set(appKey(appID), b, pebble.Sync)
}

// PutCredential stores a sealed credential.
func (s *Store) PutCredential(ctx context.Context, appID, vendor string, sealed []byte) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	return s.db.Set(credKey(appID, vendor), sealed, pebble.Sync)
}

// Credential returns a sealed credential.
func (s *Store) Credential(ctx context.Context, appID, vendor string) ([]byte, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	v, ok, err := s.get(credKey(appID, vendor))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("pebblestore: credential %s/%s: %w", appID, vendor, store.ErrNotFound)
	}
	return v, nil
}

// CredentialVendors lists an app's vendors with credentials.
func (s *Store) CredentialVendors(ctx context.Context, appID string) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	prefix := credPrefix(appID)
	it, err := s.prefixIter(prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for it.First(); it.Valid(); it.Next() {
		out = append(out, string(bytes.TrimPrefix(it.Key(), prefix)))
	}
	if err := closeIter(it, nil); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// DeleteCredential removes a credential.
func (s *Store) DeleteCredential(ctx context.Context, appID, vendor string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	return s.db.Delete(credKey(appID, vendor), pebble.Sync)
}

// SetOutcome records a target's outcome if it replaces the one recorded.
// Outcomes are written without fsync, like counters.
func (s *Store) SetOutcome(ctx context.Context, deviceID string, seq uint64, o store.Outcome) (store.Outcome, bool, error) {
	return s.setOutcome(ctx, deviceID, seq, o, nil)
}

// SetOutcomeCounted is SetOutcome that adds the change of counts to the
// push's counters in the same batch (store.OutcomeCounter), also written
// without fsync: a process that dies keeps both or neither.
func (s *Store) SetOutcomeCounted(ctx context.Context, deviceID string, seq uint64, o store.Outcome, pushID string, extra store.Counts) (store.Outcome, bool, error) {
	return s.setOutcome(ctx, deviceID, seq, o, func(b *pebble.Batch, delta store.Counts) error {
		return s.countTo(b, pushID, extra.Add(delta))
	})
}

// setOutcome records o where it replaces the recorded outcome, under the
// target's outcome stripe; count, when set, adds to the same batch the
// counts of the change (o.Delta of the outcome replaced, zero when o
// replaced none).
func (s *Store) setOutcome(ctx context.Context, deviceID string, seq uint64, o store.Outcome,
	count func(b *pebble.Batch, delta store.Counts) error,
) (store.Outcome, bool, error) {
	if err := s.begin(ctx); err != nil {
		return 0, false, err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(streamOutcome, deviceID)})
	defer s.locks.unlock(set)
	prev := store.OutcomeNone
	if !s.unrecorded.take(deviceID, seq) {
		var err error
		if prev, err = s.outcome(deviceID, seq); err != nil {
			return prev, false, err
		}
	}
	replaces := o.Replaces(prev)
	var delta store.Counts
	b := s.db.NewBatch()
	if replaces {
		b.Set(outcomeKey(deviceID, seq), []byte{byte(o)}, nil)
		delta = o.Delta(prev)
	}
	if count != nil {
		if err := count(b, delta); err != nil {
			b.Close()
			return prev, false, err
		}
	}
	if b.Empty() {
		b.Close()
		return prev, false, nil
	}
	if err := commit(b, pebble.NoSync); err != nil {
		return prev, false, err
	}
	return prev, replaces, nil
}

// OutcomeOf returns a target's recorded outcome.
func (s *Store) OutcomeOf(ctx context.Context, deviceID string, seq uint64) (store.Outcome, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.end()
	return s.outcome(deviceID, seq)
}

func (s *Store) outcome(deviceID string, seq uint64) (store.Outcome, error) {
	v, ok, err := s.get(outcomeKey(deviceID, seq))
	if err != nil || !ok || len(v) != 1 {
		return store.OutcomeNone, err
	}
	return store.Outcome(v[0]), nil
}
