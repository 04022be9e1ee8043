package pebblestore

import (
	"context"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
)

var _ store.TagIndex = (*Store)(nil)

// metaTagIndex names the marker that says the tag index holds the entries
// of every device stored before it existed.
const metaTagIndex = "tag index"

// metaAppIndex names the marker that says the index of an app's devices
// (appDeviceKey) holds the entries of every device stored before it
// existed.
const metaAppIndex = "app device index"

// DeviceIDsByTags returns, sorted, the ids of up to limit devices of the
// app that have one of tags and an id greater than after, each once. Each
// distinct tag's entries are read in id order from after on, at most limit
// of them, all from one snapshot of the database; the lists are merged.
// The empty tag, which no device has, matches none: its entries are the
// index of the app's devices (appDeviceKey).
func (s *Store) DeviceIDsByTags(ctx context.Context, appID string, tags []string, after string, limit int) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	if limit <= 0 || len(tags) == 0 {
		return nil, nil
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	var ids []string
	done := make(map[string]bool, len(tags))
	for _, tag := range tags {
		if done[tag] || tag == "" {
			continue
		}
		done[tag] = true
		var err error
		if ids, err = appendIDsAfter(snap, ids, tagPrefix(appID, tag), after, limit); err != nil {
			return nil, err
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return slices.Clip(ids[:min(len(ids), limit)]), nil
}

// DeviceIDsByApp returns, sorted, the ids of up to limit devices of the
// app with an id greater than after: the entries of the index of the
// app's devices (appDeviceKey), read in id order from after on.
func (s *Store) DeviceIDsByApp(ctx context.Context, appID string, after string, limit int) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	if limit <= 0 {
		return nil, nil
	}
	return appendIDsAfter(s.db, nil, appDevicePrefix(appID), after, limit)
}

// appendIDsAfter appends to ids the ids that follow prefix in the keys of
// r, up to limit of them, in order from the first greater than after.
func appendIDsAfter(r pebble.Reader, ids []string, prefix []byte, after string, limit int) ([]string, error) {
	lower := prefix
	if after != "" {
		// The smallest id greater than after is after followed by a zero
		// byte.
		lower = append(append(slices.Clip(prefix), after...), 0)
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("pebblestore: iterate: %w", err)
	}
	n := 0
	for valid := it.First(); valid && n < limit; valid = it.Next() {
		ids = append(ids, string(it.Key()[len(prefix):]))
		n++
	}
	return ids, closeIter(it, it.Error())
}

// tagIndexBuild is the build of the tag index entries of every stored
// device, for a database written before the index existed (see
// buildIndexes). A device record that does not decode is logged and
// skipped: it cannot be read either.
func tagIndexBuild() indexBuild {
	return indexBuild{marker: metaTagIndex, record: "device", tag: tagDevice,
		entries: func(b *pebble.Batch, id string, v []byte) (int, error) {
			d, err := decodeDevice(id, v)
			if err != nil {
				return 0, err
			}
			for _, tag := range d.Tags {
				b.Set(tagKey(d.AppID, tag, id), nil, nil)
			}
			return len(d.Tags), nil
		}}
}

// appIndexBuild is the build of the entry of every stored device in the
// index of its app's devices, for a database written before the index
// existed (see buildIndexes). A device record that does not decode is
// logged and skipped: it cannot be read either.
func appIndexBuild() indexBuild {
	return indexBuild{marker: metaAppIndex, record: "device", tag: tagDevice,
		entries: func(b *pebble.Batch, id string, v []byte) (int, error) {
			d, err := decodeDevice(id, v)
			if err != nil {
				return 0, err
			}
			b.Set(appDeviceKey(d.AppID, id), nil, nil)
			return 1, nil
		}}
}
