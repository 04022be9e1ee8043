package pebblestore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// PutDevice creates or replaces a device, durably, and moves its entries
// in the alias and tag indexes (the app's entry too, see appDeviceKey)
// when its alias, tags (or app) changed.
func (s *Store) PutDevice(ctx context.Context, d *store.Device) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(tagDevice, d.ID)})
	defer s.locks.unlock(set)

	b := s.db.NewBatch()
	if err := s.putDeviceTo(b, d); err != nil {
		b.Close()
		return err
	}
	return s.commitSync(b)
}

// putDeviceTo writes d into b and moves its alias and tag entries: the
// entry of the stored device's alias goes when the alias (or app) differs,
// and the entries of its tags that d lacks (all of them when the app
// differs), and its app's entry when the app differs; d's entries, its
// app's included, are set, all of them, as a write that repeats an entry
// costs little and repairs a missing one. It reads the stored device
// from the database, not from b, so b must not hold d.ID already. The
// caller holds the device's stripe.
func (s *Store) putDeviceTo(b *pebble.Batch, d *store.Device) error {
	old, err := s.device(d.ID)
	if err != nil {
		return err
	}
	b.Set(deviceKey(d.ID), reccodec.EncodeDevice(d), nil)
	if old != nil && old.Alias != "" && (old.Alias != d.Alias || old.AppID != d.AppID) {
		b.Delete(aliasKey(old.AppID, old.Alias, d.ID), nil)
	}
	if d.Alias != "" {
		b.Set(aliasKey(d.AppID, d.Alias, d.ID), nil, nil)
	}
	if old != nil {
		for _, tag := range old.Tags {
			if old.AppID != d.AppID || !slices.Contains(d.Tags, tag) {
				b.Delete(tagKey(old.AppID, tag, d.ID), nil)
			}
		}
		if old.AppID != d.AppID {
			b.Delete(appDeviceKey(old.AppID, d.ID), nil)
		}
	}
	for _, tag := range d.Tags {
		b.Set(tagKey(d.AppID, tag, d.ID), nil, nil)
	}
	b.Set(appDeviceKey(d.AppID, d.ID), nil, nil)
	return nil
}

// UpdateDevice changes a device in place under the device's stripe lock,
// which every write of the device holds, so no other write comes between
// its read and its write.
func (s *Store) UpdateDevice(ctx context.Context, id string, change func(*store.Device) bool) (*store.Device, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(tagDevice, id)})
	defer s.locks.unlock(set)

	old, err := s.device(id)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, fmt.Errorf("pebblestore: update device %q: %w", id, store.ErrNotFound)
	}
	d := old.Clone()
	if !change(d) {
		return old, nil
	}
	if d.ID != id {
		return nil, fmt.Errorf("pebblestore: update device %q: the change gave it id %q", id, d.ID)
	}
	b := s.db.NewBatch()
	if err := s.putDeviceTo(b, d); err != nil {
		b.Close()
		return nil, err
	}
	if err := s.commitSync(b); err != nil {
		return nil, err
	}
	return d, nil
}

// DeleteDevice removes a device and its alias and tag index entries (its
// app's included), durably. Deleting a missing device writes nothing.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	set := s.locks.lock([]uint16{s.locks.index(tagDevice, id)})
	defer s.locks.unlock(set)

	old, err := s.device(id)
	if err != nil || old == nil {
		return err
	}
	b := s.db.NewBatch()
	b.Delete(deviceKey(id), nil)
	if old.Alias != "" {
		b.Delete(aliasKey(old.AppID, old.Alias, id), nil)
	}
	for _, tag := range old.Tags {
		b.Delete(tagKey(old.AppID, tag, id), nil)
	}
	b.Delete(appDeviceKey(old.AppID, id), nil)
	return s.commitSync(b)
}

// Devices returns the devices with the ids, by position; a missing one is
// nil.
func (s *Store) Devices(ctx context.Context, ids []string) ([]*store.Device, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	out := make([]*store.Device, len(ids))
	for i, id := range ids {
		d, err := s.device(id)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// device reads a device record; nil when it is missing. Records are in the
// binary encoding of reccodec; a record that starts with '{' is the JSON
// that earlier versions wrote, and is read as such until the device is
// written again.
func (s *Store) device(id string) (*store.Device, error) {
	// Every handshake reads its device: both decodings copy what they
	// keep, so the value is read in place.
	v, closer, ok, err := s.lookup(deviceKey(id))
	if !ok || err != nil {
		return nil, err
	}
	defer closer.Close()
	return decodeDevice(id, v)
}

// decodeDevice decodes the record v of device id, in either encoding (see
// device); the device shares nothing with v.
func decodeDevice(id string, v []byte) (*store.Device, error) {
	if len(v) > 0 && v[0] == '{' {
		d := &store.Device{}
		if err := json.Unmarshal(v, d); err != nil {
			return nil, fmt.Errorf("pebblestore: decode device %q: %w", id, err)
		}
		return d, nil
	}
	d, err := reccodec.DecodeDevice(v)
	if err != nil {
		return nil, fmt.Errorf("pebblestore: decode device %q: %w", id, err)
	}
	return d, nil
}

// DeviceIDsByAlias returns the ids of an app's devices that have one of the
// aliases, each once, in no particular order.
func (s *Store) DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	var ids []string
	seen := make(map[string]bool)
	for _, alias := range aliases {
		prefix := aliasPrefix(appID, alias)
		it, err := s.prefixIter(prefix)
		if err != nil {
			return nil, err
		}
		for valid := it.First(); valid; valid = it.Next() {
			id := string(it.Key()[len(prefix):])
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if err := closeIter(it, it.Error()); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
