package pebblestore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// CreatePush stores p, durably, and returns its id. With an idempotency
// key the app used within the window, it writes nothing and returns the
// earlier push's id. p.Counts are ignored: a new push has zero counts. A
// push whose State is store.PushScheduled is stored as scheduled, in the
// scheduled index by its SendAt (which must be set) instead of the
// pending list; any other State is stored as pending. A taken id is
// store.ErrConflict.
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
	scheduled := p.State == store.PushScheduled
	if scheduled && p.SendAt.IsZero() {
		return "", fmt.Errorf("pebblestore: push %q: scheduled without a send time", p.ID)
	}
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
	if scheduled {
		rec.State = store.PushScheduled
	}
	val := reccodec.EncodePush(&rec)
	b := s.db.NewBatch()
	b.Set(pushKey(p.ID), val, nil)
	b.Set(pushMarkKey(p.ID), nil, nil)
	b.Set(appPushKey(p.AppID, p.ID), nil, nil)
	if scheduled {
		b.Set(scheduledKey(p.SendAt, p.ID), nil, nil)
	} else {
		b.Set(pendingKey(p.ID), nil, nil)
	}
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
	if p.State, err = s.pushState(p); err != nil {
		return nil, err
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

// pushState returns the current state of push p, read from its record.
// Records keep the state they were created with. A push created pending is
// pending while it is on the pending list and done once it left it. A push
// created scheduled is scheduled while it is in the scheduled index;
// EndSchedule takes it out and, in the same batch, puts it on the pending
// list or marks it cancelled. The keys are read in the order a push moves
// through them (scheduled, pending, cancelled), so without a snapshot a
// move between two reads is seen either before or after, never as a state
// the push never had.
func (s *Store) pushState(p *store.Push) (string, error) {
	if p.State == store.PushScheduled {
		ok, err := s.exists(scheduledKey(p.SendAt, p.ID))
		if ok || err != nil {
			return store.PushScheduled, err
		}
	}
	pending, err := s.exists(pendingKey(p.ID))
	if pending || err != nil {
		return store.PushPending, err
	}
	if p.State == store.PushScheduled {
		cancelled, err := s.exists(cancelledKey(p.ID))
		if cancelled || err != nil {
			return store.PushCancelled, err
		}
	}
	return store.PushDone, nil
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
// target list, is neither read nor rewritten. Finishing a push that is
// not pending (done, scheduled or cancelled) does nothing, counts
// included; an unknown one is store.ErrNotFound.
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
	if !pending { // done already, scheduled, cancelled, or unknown
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

// DuePushes returns the ids of up to limit scheduled pushes whose SendAt is
// at or before now, earliest SendAt first (ties by id): the front of the
// scheduled index.
func (s *Store) DuePushes(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	if limit <= 0 {
		return nil, nil
	}
	lower := []byte{tagScheduled}
	upper := binary.BigEndian.AppendUint64([]byte{tagScheduled}, unixNano(now)+1)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("pebblestore: iterate: %w", err)
	}
	var ids []string
	for valid := it.First(); valid && len(ids) < limit; valid = it.Next() {
		k := it.Key()
		if len(k) < 9 {
			return nil, closeIter(it, errors.New("pebblestore: malformed scheduled key"))
		}
		ids = append(ids, string(k[9:]))
	}
	return ids, closeIter(it, it.Error())
}

// EndSchedule moves a scheduled push to to: store.PushPending puts it on
// the pending list, store.PushCancelled marks it cancelled. It holds the
// stripe FinishPush holds, checks that the push is still in the scheduled
// index and, in one synced batch, takes it out and writes the pending
// entry or the cancelled marker: of concurrent calls, one finds the entry
// and moves the push, and the others return false. A push that is not
// scheduled (any more) is false too; an unknown one is store.ErrNotFound.
func (s *Store) EndSchedule(ctx context.Context, id, to string) (bool, error) {
	if to != store.PushPending && to != store.PushCancelled {
		return false, fmt.Errorf("pebblestore: end schedule of push %q: state %q is neither %q nor %q",
			id, to, store.PushPending, store.PushCancelled)
	}
	if err := s.begin(ctx); err != nil {
		return false, err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(tagPending, id)})
	defer s.locks.unlock(set)
	v, ok, err := s.get(pushKey(id))
	if err != nil {
		return false, err
	}
	if !ok {
		return false, fmt.Errorf("pebblestore: push %q: %w", id, store.ErrNotFound)
	}
	p, err := decodePush(v)
	if err != nil {
		return false, fmt.Errorf("pebblestore: decode push %q: %w", id, err)
	}
	if p.State != store.PushScheduled {
		return false, nil // created pending
	}
	key := scheduledKey(p.SendAt, id)
	if ok, err := s.exists(key); !ok || err != nil {
		return false, err // started or cancelled already
	}
	b := s.db.NewBatch()
	b.Delete(key, nil)
	if to == store.PushPending {
		b.Set(pendingKey(id), nil, nil)
	} else {
		b.Set(cancelledKey(id), nil, nil)
	}
	if err := s.commitSync(b); err != nil {
		return false, err
	}
	return true, nil
}
