package pebblestore

import (
	"time"

	"github.com/cockroachdb/pebble"
)

// sweepMax is how many lapsed idempotency keys one sweep deletes. Each
// CreatePush with a key adds one and sweeps, so the sweeps keep up.
const sweepMax = 16

// idemLockID names the stripe of an idempotency key.
func idemLockID(appID, key string) string {
	return appID + "\x00" + key
}

// lookupIdem returns what the app's idempotency key remembers, if anything.
func (s *Store) lookupIdem(appID, key string) (idemEntry, bool, error) {
	v, ok, err := s.get(idemKey(appID, key))
	if !ok || err != nil {
		return idemEntry{}, ok, err
	}
	e, err := decodeIdemEntry(v)
	return e, err == nil, err
}

// withinWindow reports whether an idempotency entry is still remembered.
func (s *Store) withinWindow(e idemEntry, now time.Time) bool {
	return now.Before(e.created.Add(s.cfg.IdempotencyWindow))
}

// sweepIdempotency deletes up to sweepMax idempotency keys whose window
// lapsed before now. It is best effort: when another sweep runs it returns
// at once, and it logs errors rather than failing the CreatePush that ran
// it; a key it misses is ignored by lookups all the same.
func (s *Store) sweepIdempotency(now time.Time) {
	if !s.sweeping.TryLock() {
		return
	}
	defer s.sweeping.Unlock()
	if err := s.sweep(now); err != nil {
		s.log.Warn("idempotency sweep failed", "error", err)
	}
}

// sweep deletes lapsed idempotency keys and their expiry entries. It takes
// the stripes of the keys so that it never deletes a key that a concurrent
// CreatePush has just renewed.
func (s *Store) sweep(now time.Time) error {
	lapsed := now.Add(-s.cfg.IdempotencyWindow)
	expKeys, err := s.lapsedExpKeys(lapsed)
	if err != nil || len(expKeys) == 0 {
		return err
	}
	type target struct{ appID, key string }
	targets := make([]target, len(expKeys))
	set := make([]uint16, len(expKeys))
	for i, k := range expKeys {
		appID, key, err := parseIdemExpKey(k)
		if err != nil {
			return err
		}
		targets[i] = target{appID, key}
		set[i] = s.locks.index(tagIdem, idemLockID(appID, key))
	}
	set = s.locks.lock(set)
	defer s.locks.unlock(set)

	b := s.db.NewBatch()
	for i, t := range targets {
		e, ok, err := s.lookupIdem(t.appID, t.key)
		if err != nil {
			b.Close()
			return err
		}
		if ok && !s.withinWindow(e, now) {
			b.Delete(idemKey(t.appID, t.key), nil)
		}
		b.Delete(expKeys[i], nil)
	}
	return commit(b, pebble.NoSync)
}

// lapsedExpKeys returns up to sweepMax expiry entries created at or before
// lapsed, oldest first.
func (s *Store) lapsedExpKeys(lapsed time.Time) ([][]byte, error) {
	upper := idemExpKey(lapsed.Add(time.Nanosecond), "", "")[:9]
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagIdemExp}, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	var keys [][]byte
	for valid := it.First(); valid && len(keys) < sweepMax; valid = it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	return keys, closeIter(it, it.Error())
}
