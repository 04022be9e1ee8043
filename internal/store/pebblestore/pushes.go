package pebblestore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// CreatePush stores p as pending, durably, and returns its id. With an
// idempotency key the app used within the window, it writes nothing and
// returns the earlier push's id. p.State and p.Counts are ignored: a new push
// is pending with zero counts. A taken id is store.ErrConflict.
func (s *Store) CreatePush(ctx context.Context, p *store.Push, idemKey string) (string, error) {
	return s.create(ctx, p, idemKey, pebble.Sync)
}

// create is CreatePush with the write options of the push's commit.
func (s *Store) create(ctx context.Context, p *store.Push, idemKey string, opts *pebble.WriteOptions) (string, error) {
	if err := s.begin(ctx); err != nil {
		return "", err
	}
	defer s.end()
	now := s.cfg.Now()
	id, err := s.createPush(p, idemKey, now, opts)
	if err == nil && idemKey != "" {
		s.sweepIdempotency(now)
	}
	return id, err
}

func (s *Store) createPush(p *store.Push, key string, now time.Time, opts *pebble.WriteOptions) (string, error) {
	set := []uint16{s.locks.index(tagPush, p.ID)}
	if key != "" {
		set = append(set, s.locks.index(tagIdem, idemLockID(p.AppID, key)))
	}
	set = s.locks.lock(set)
	defer s.locks.unlock(set)

	if key != "" {
		e, ok, err := s.lookupIdem(p.AppID, key)
		if err != nil {
			return "", err
		}
		if ok && s.withinWindow(e, now) {
			return e.pushID, nil
		}
	}
	if !s.newPushes.claim(p.ID) {
		taken, err := s.exists(pushKey(p.ID))
		if err != nil {
			return "", err
		}
		if taken {
			return "", fmt.Errorf("pebblestore: push %q: %w", p.ID, store.ErrConflict)
		}
	}
	rec := *p
	rec.State = store.PushPending
	val := reccodec.EncodePush(&rec)
	b := s.db.NewBatch()
	b.Set(pushKey(p.ID), val, nil)
	b.Set(pushMarkKey(p.ID), nil, nil)
	b.Set(pendingKey(p.ID), nil, nil)
	if key != "" {
		b.Set(idemKey(p.AppID, key), idemEntry{created: now, pushID: p.ID}.encode(), nil)
		b.Set(idemExpKey(now, p.AppID, key), nil, nil)
	}
	var err error
	if opts.Sync {
		err = s.commitSync(b)
	} else {
		err = commit(b, opts)
	}
	if err != nil {
		return "", err
	}
	s.known.add(p.ID)
	return p.ID, nil
}

// Push returns the push with its current counts, or store.ErrNotFound.
func (s *Store) Push(ctx context.Context, id string) (*store.Push, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	v, ok, err := s.get(pushKey(id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("pebblestore: push %q: %w", id, store.ErrNotFound)
	}
	p, err := decodePush(v)
	if err != nil {
		return nil, fmt.Errorf("pebblestore: decode push %q: %w", id, err)
	}
	// Records keep the state they were created with (pending); a push is
	// done once it left the pending list.
	pending, err := s.exists(pendingKey(id))
	if err != nil {
		return nil, err
	}
	if !pending {
		p.State = store.PushDone
	}
	v, ok, err = s.get(countsKey(id))
	if err != nil || !ok {
		return p, err
	}
	if p.Counts, err = decodeCounts(v); err != nil {
		return nil, err
	}
	return p, nil
}

// decodePush decodes a push's 'p' record: the binary encoding of reccodec,
// which leaves out the counts (they live in the 'c' merge operands), or,
// when it starts with '{', the JSON that earlier versions wrote, whose
// counts are zero or absent. Either way the counts come back zero.
func decodePush(v []byte) (*store.Push, error) {
	if len(v) == 0 || v[0] != '{' {
		return reccodec.DecodePush(v)
	}
	p := &store.Push{}
	if err := json.Unmarshal(v, p); err != nil {
		return nil, err
	}
	p.Counts = store.Counts{}
	return p, nil
}

// AddCounts adds delta to a push's counters as a merge operand (see
// newCountsMerger), committed without fsync: a power cut may lose the
// counts of its last moments. An unknown push is store.ErrNotFound.
func (s *Store) AddCounts(ctx context.Context, id string, delta store.Counts) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	ok, err := s.pushExists(id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("pebblestore: push %q: %w", id, store.ErrNotFound)
	}
	if delta == (store.Counts{}) {
		return nil
	}
	if err := s.db.Merge(countsKey(id), encodeCounts(delta), pebble.NoSync); err != nil {
		return fmt.Errorf("pebblestore: add counts: %w", err)
	}
	return nil
}

// countTo adds delta to push id's counters in b, as AddCounts does; a push
// that is not stored has no counters, and nothing is added.
func (s *Store) countTo(b *pebble.Batch, id string, delta store.Counts) error {
	if delta == (store.Counts{}) {
		return nil
	}
	ok, err := s.pushExists(id)
	if err != nil || !ok {
		return err
	}
	return b.Merge(countsKey(id), encodeCounts(delta), nil)
}

// pushExists tells whether a push was created. Every ack and outcome adds
// to counters, so it reads the push's empty marker, not its record, which
// holds the push's whole target list. Pushes stored before markers were
// written are found by their record.
func (s *Store) pushExists(id string) (bool, error) {
	if s.known.has(id) {
		return true, nil
	}
	ok, err := s.exists(pushMarkKey(id))
	if !ok && err == nil {
		ok, err = s.exists(pushKey(id))
	}
	if ok && err == nil {
		s.known.add(id)
	}
	return ok, err
}

// FinishPush adds counts to a pending push's counters and marks it done by
// taking it off the pending list, in one batch; a push's state is whether
// it is on that list (see Push), so its record, which holds its whole
// target list, is neither read nor rewritten. Finishing a done push does
// nothing, counts included; an unknown one is store.ErrNotFound.
// It is written without fsync: if a crash loses it, the push is still
// pending, without these counts, and is routed again at start, which
// delivery tolerates (at least once, duplicates dropped by push id); this
// keeps one fsync off every push's path.
func (s *Store) FinishPush(ctx context.Context, id string, counts store.Counts) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(tagPending, id)})
	defer s.locks.unlock(set)
	pending, err := s.exists(pendingKey(id))
	if err != nil {
		return err
	}
	if !pending { // done already, or unknown
		ok, err := s.pushExists(id)
		if err == nil && !ok {
			err = fmt.Errorf("pebblestore: push %q: %w", id, store.ErrNotFound)
		}
		return err
	}
	b := s.db.NewBatch()
	if counts != (store.Counts{}) {
		if err := b.Merge(countsKey(id), encodeCounts(counts), nil); err != nil {
			return fmt.Errorf("pebblestore: finish push: %w", err)
		}
	}
	if err := b.Delete(pendingKey(id), nil); err != nil {
		return fmt.Errorf("pebblestore: finish push: %w", err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("pebblestore: finish push: %w", err)
	}
	return nil
}

// PendingPushes returns the ids of up to limit pending pushes, oldest first.
func (s *Store) PendingPushes(ctx context.Context, limit int) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	it, err := s.prefixIter([]byte{tagPending})
	if err != nil {
		return nil, err
	}
	var ids []string
	for valid := it.First(); valid && len(ids) < limit; valid = it.Next() {
		ids = append(ids, string(it.Key()[1:]))
	}
	return ids, closeIter(it, it.Error())
}
