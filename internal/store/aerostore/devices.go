package aerostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	as "github.com/aerospike/aerospike-client-go/v7"

	"github.com/mopush/mopush/internal/store"
)

// Bins of a device record (devices set, key: device id) and of an alias
// index record (aliases set, key: aliasKey).
const (
	binDevice = "dev"   // blob: the device, encodeDevice
	binApp    = "app"   // string: the device's app id
	binAlias  = "alias" // string: the device's alias, "" for none
	binToken  = "tok"   // int: random token of the PutDevice that wrote the record
	binIDs    = "ids"   // map device id -> token: an alias's devices
)

// maxBatch bounds the keys of one batch call.
const maxBatch = 1000

// aliasKey is the key of the index record of an app's alias. The app id's
// length comes first, so no two (app, alias) pairs share a key.
func aliasKey(appID, alias string) string {
	return strconv.Itoa(len(appID)) + ":" + appID + alias
}

// newToken returns a random positive token.
func newToken() int64 {
	return 1 + rand.Int64N(1<<62)
}

// indexState is what a device record says about its alias index entry.
type indexState struct {
	found      bool
	generation uint32
	app, alias string
	token      int64
}

// PutDevice creates or replaces a device and keeps the alias index
// current.
//
// The alias index is one record per (app, alias) whose map holds device
// id -> token, where the token is a random number that this call also
// writes into the device record. Aerospike has no transactions across
// records here, so the index is kept a superset of the truth and readers
// check it against the devices: this call adds the new entry first, then
// writes the device with a generation check (or create-only), retrying
// from the read when another writer came first, and last removes the entry
// of the alias the device had, by that version's token. An entry is only
// ever removed by the token of the version that wrote it, so a later put
// that moved the device back to that alias, whose entry has a new token,
// never loses its entry.
func (s *Store) PutDevice(ctx context.Context, d *store.Device) error {
	if d == nil || d.ID == "" {
		return errors.New("aerostore: put device: no device id")
	}
	key, err := s.key(s.devices, d.ID)
	if err != nil {
		return err
	}
	for attempt := range maxAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return fmt.Errorf("aerostore: put device: %w", err)
		}
		old, _, err := s.readVersion(ctx, key, false)
		if err != nil {
			return err
		}
		if done, err := s.writeVersion(ctx, key, old, d); err != nil || done {
			return err
		}
	}
	return fmt.Errorf("aerostore: put device: %w", ErrContended)
}

// UpdateDevice changes a device in place. Each round reads the record
// with its generation, calls change, adds the new alias entry, and writes
// the record with a generation check; a lost race starts the next round,
// as in PutDevice. The entry of the alias the device had goes last, by
// that version's token. After maxAttempts rounds it fails with
// ErrContended.
func (s *Store) UpdateDevice(ctx context.Context, id string, change func(*store.Device) bool) (*store.Device, error) {
	if id == "" {
		return nil, errors.New("aerostore: update device: no device id")
	}
	key, err := s.key(s.devices, id)
	if err != nil {
		return nil, err
	}
	for attempt := range maxAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return nil, fmt.Errorf("aerostore: update device: %w", err)
		}
		st, old, err := s.readVersion(ctx, key, true)
		if err != nil {
			return nil, err
		}
		if !st.found {
			return nil, fmt.Errorf("aerostore: update device %q: %w", id, store.ErrNotFound)
		}
		d := old.Clone()
		if !change(d) {
			return old, nil
		}
		if d.ID != id {
			return nil, fmt.Errorf("aerostore: update device %q: the change gave it id %q", id, d.ID)
		}
		done, err := s.writeVersion(ctx, key, st, d)
		if err != nil {
			return nil, err
		}
		if done {
			return d, nil
		}
	}
	return nil, fmt.Errorf("aerostore: update device: %w", ErrContended)
}

// DeleteDevice removes a device, then its alias index entry. The record
// goes with a generation check, retried from the read when another writer
// came first, so that the entry removed is that of the version deleted.
// Deleting a missing device is not an error.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("aerostore: delete device: no device id")
	}
	key, err := s.key(s.devices, id)
	if err != nil {
		return err
	}
	var old indexState
	for attempt := 0; ; attempt++ {
		if attempt >= maxAttempts {
			return fmt.Errorf("aerostore: delete device: %w", ErrContended)
		}
		if err := backoff(ctx, attempt); err != nil {
			return fmt.Errorf("aerostore: delete device: %w", err)
		}
		if old, _, err = s.readVersion(ctx, key, false); err != nil || !old.found {
			return err
		}
		p, err := s.writePolicy(ctx)
		if err != nil {
			return fmt.Errorf("aerostore: delete device: %w", err)
		}
		p.GenerationPolicy = as.EXPECT_GEN_EQUAL
		p.Generation = old.generation
		_, aerr := s.client.Delete(p, key)
		c := code(aerr)
		if c == codeOK || c == codeNotFound {
			break
		}
		if c != codeGeneration && (c != codeKeyBusy || inDoubt(aerr)) {
			return mapErr(ctx, "delete device", aerr)
		}
	}
	if old.alias != "" {
		if err := s.aliasRemove(ctx, old.app, old.alias, old.token); err != nil {
			// The stale entry is harmless: readers check entries against
			// the devices.
			s.log.Warn("alias index entry not removed", "error", err)
		}
	}
	return nil
}

// readVersion reads what a device record says about its index entry,
// with the record's generation, and the device itself when withDevice; a
// missing record is an indexState that is not found.
func (s *Store) readVersion(ctx context.Context, key *as.Key, withDevice bool) (indexState, *store.Device, error) {
	p, err := s.readPolicy(ctx)
	if err != nil {
		return indexState{}, nil, fmt.Errorf("aerostore: read device: %w", err)
	}
	bins := []string{binApp, binAlias, binToken}
	if withDevice {
		bins = append(bins, binDevice)
	}
	rec, aerr := s.client.Get(p, key, bins...)
	if code(aerr) == codeNotFound {
		return indexState{}, nil, nil
	}
	if aerr != nil {
		return indexState{}, nil, mapErr(ctx, "read device", aerr)
	}
	st := indexState{found: true, generation: rec.Generation}
	st.app, _ = rec.Bins[binApp].(string)
	st.alias, _ = rec.Bins[binAlias].(string)
	st.token, _ = toInt(rec.Bins[binToken])
	if !withDevice {
		return st, nil, nil
	}
	b, ok := rec.Bins[binDevice].([]byte)
	if !ok {
		return st, nil, fmt.Errorf("aerostore: device %v: %w: bin %s is %T", key.Value(), errMalformed, binDevice, rec.Bins[binDevice])
	}
	d, err := decodeDevice(b)
	if err != nil {
		return st, nil, fmt.Errorf("aerostore: device %v: %w", key.Value(), err)
	}
	return st, d, nil
}

// writeVersion writes d over the version old describes (PutDevice's
// protocol): it adds d's alias entry under a new token, writes the record
// if it is still that version, and then removes the entry of the alias
// that version had, by its token. done is false when another writer came
// first; the caller reads again.
func (s *Store) writeVersion(ctx context.Context, key *as.Key, old indexState, d *store.Device) (done bool, err error) {
	tok := newToken()
	if d.Alias != "" {
		if err := s.aliasAdd(ctx, d.AppID, d.Alias, d.ID, tok); err != nil {
			return false, err
		}
	}
	done, err = s.writeDevice(ctx, key, old, []*as.Bin{
		as.NewBin(binDevice, encodeDevice(d)),
		as.NewBin(binApp, d.AppID),
		as.NewBin(binAlias, d.Alias),
		as.NewBin(binToken, tok),
	})
	if err != nil || !done {
		return done, err
	}
	if old.found && old.alias != "" && (old.alias != d.Alias || old.app != d.AppID) {
		if err := s.aliasRemove(ctx, old.app, old.alias, old.token); err != nil {
			// The stale entry is harmless: readers check entries against
			// the devices.
			s.log.Warn("alias index entry not removed", "error", err)
		}
	}
	return true, nil
}

// writeDevice writes the device's bins if the record is still as old saw
// it. done is false when another writer came first.
func (s *Store) writeDevice(ctx context.Context, key *as.Key, old indexState, bins []*as.Bin) (done bool, err error) {
	p, err := s.writePolicy(ctx)
	if err != nil {
		return false, fmt.Errorf("aerostore: put device: %w", err)
	}
	if old.found {
		p.RecordExistsAction = as.REPLACE
		p.GenerationPolicy = as.EXPECT_GEN_EQUAL
		p.Generation = old.generation
	} else {
		p.RecordExistsAction = as.CREATE_ONLY
	}
	aerr := s.client.PutBins(p, key, bins...)
	switch c := code(aerr); {
	case c == codeOK:
		return true, nil
	case c == codeGeneration || c == codeKeyExists || (c == codeKeyBusy && !inDoubt(aerr)):
		return false, nil
	}
	return false, mapErr(ctx, "write device", aerr)
}

// aliasAdd puts a device's entry into the index record of its alias.
func (s *Store) aliasAdd(ctx context.Context, appID, alias, deviceID string, tok int64) error {
	p, err := s.writePolicy(ctx)
	if err != nil {
		return fmt.Errorf("aerostore: index alias: %w", err)
	}
	key, err := s.key(s.aliases, aliasKey(appID, alias))
	if err != nil {
		return err
	}
	_, aerr := s.client.Operate(p, key, as.MapPutOp(as.DefaultMapPolicy(), binIDs, deviceID, tok))
	return mapErr(ctx, "index alias", aerr)
}

// aliasRemove removes the index entry that holds tok from an alias's
// record, and deletes the record when that leaves it empty and nobody
// wrote to it meanwhile.
func (s *Store) aliasRemove(ctx context.Context, appID, alias string, tok int64) error {
	p, err := s.writePolicy(ctx)
	if err != nil {
		return err
	}
	p.RecordExistsAction = as.UPDATE_ONLY
	key, err := s.key(s.aliases, aliasKey(appID, alias))
	if err != nil {
		return err
	}
	rec, aerr := s.client.Operate(p, key,
		as.MapRemoveByValueOp(binIDs, tok, as.MapReturnType.NONE),
		as.MapSizeOp(binIDs))
	if code(aerr) == codeNotFound {
		return nil
	}
	if aerr != nil {
		return mapErr(ctx, "unindex alias", aerr)
	}
	size, err := opResult(rec.Bins[binIDs], 1, 2)
	if err != nil {
		return err
	}
	if n, _ := toInt(size); n != 0 {
		return nil
	}
	dp, err := s.writePolicy(ctx)
	if err != nil {
		return err
	}
	dp.GenerationPolicy = as.EXPECT_GEN_EQUAL
	dp.Generation = rec.Generation
	_, aerr = s.client.Delete(dp, key)
	if c := code(aerr); c == codeGeneration || c == codeNotFound {
		return nil
	}
	return mapErr(ctx, "delete alias", aerr)
}

// Devices returns the devices with the given ids, by position; a missing
// device is nil. It reads them with batch calls, all nodes at once.
func (s *Store) Devices(ctx context.Context, ids []string) ([]*store.Device, error) {
	out := make([]*store.Device, len(ids))
	uniq, pos := dedupe(ids)
	recs, err := s.batchGet(ctx, s.devices, uniq, binDevice)
	if err != nil {
		return nil, err
	}
	devs := make([]*store.Device, len(uniq))
	for i, rec := range recs {
		if rec == nil {
			continue
		}
		b, ok := rec.Bins[binDevice].([]byte)
		if !ok {
			return nil, fmt.Errorf("aerostore: device %s: %w: bin %s is %T", uniq[i], errMalformed, binDevice, rec.Bins[binDevice])
		}
		if devs[i], err = decodeDevice(b); err != nil {
			return nil, fmt.Errorf("aerostore: device %s: %w", uniq[i], err)
		}
	}
	for i := range ids {
		out[i] = devs[pos[i]]
	}
	return out, nil
}

// DeviceIDsByAlias returns the ids of an app's devices that have one of
// the aliases, each once, in no particular order. It reads the aliases'
// index records, then the candidates' app and alias, and keeps the devices
// whose record agrees with the index.
func (s *Store) DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error) {
	want := make(map[string]bool, len(aliases))
	var keys []string
	for _, a := range aliases {
		if a != "" && !want[a] {
			want[a] = true
			keys = append(keys, aliasKey(appID, a))
		}
	}
	recs, err := s.batchGet(ctx, s.aliases, keys, binIDs)
	if err != nil {
		return nil, err
	}
	var candidates []string
	seen := make(map[string]bool)
	for _, rec := range recs {
		if rec == nil {
			continue
		}
		m, _ := rec.Bins[binIDs].(map[any]any)
		for k := range m {
			if id, ok := k.(string); ok && !seen[id] {
				seen[id] = true
				candidates = append(candidates, id)
			}
		}
	}
	devs, err := s.batchGet(ctx, s.devices, candidates, binApp, binAlias)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, rec := range devs {
		if rec == nil {
			continue
		}
		app, _ := rec.Bins[binApp].(string)
		alias, _ := rec.Bins[binAlias].(string)
		if app == appID && want[alias] {
			out = append(out, candidates[i])
		}
	}
	return out, nil
}

// batchGet reads the bins of the records of set with the ids, by position,
// nil for a missing one, in batch calls of at most maxBatch keys.
func (s *Store) batchGet(ctx context.Context, set string, ids []string, bins ...string) ([]*as.Record, error) {
	out := make([]*as.Record, 0, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxBatch)]
		ids = ids[len(chunk):]
		keys, err := s.keys(set, chunk)
		if err != nil {
			return nil, err
		}
		p, err := s.batchPolicy(ctx, false)
		if err != nil {
			return nil, fmt.Errorf("aerostore: batch read %s: %w", set, err)
		}
		recs, aerr := s.client.BatchGet(p, keys, bins...)
		if aerr != nil {
			return nil, mapErr(ctx, "batch read "+set, aerr)
		}
		out = append(out, recs...)
	}
	return out, nil
}

// dedupe returns the distinct ids in order of first appearance and, for
// each of ids, the position of its copy.
func dedupe(ids []string) (uniq []string, pos []int) {
	index := make(map[string]int, len(ids))
	pos = make([]int, len(ids))
	for i, id := range ids {
		j, ok := index[id]
		if !ok {
			j = len(uniq)
			index[id] = j
			uniq = append(uniq, id)
		}
		pos[i] = j
	}
	return uniq, pos
}
