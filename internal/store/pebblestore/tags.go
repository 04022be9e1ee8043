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

// DeviceIDsByTags returns, sorted, the ids of up to limit devices of the
// app that have one of tags and an id greater than after, each once. Each
// distinct tag's entries are read in id order from after on, at most limit
// of them, all from one snapshot of the database; the lists are merged.
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
		if done[tag] {
			continue
		}
		done[tag] = true
		prefix := tagPrefix(appID, tag)
		lower := prefix
		if after != "" {
			// The smallest id greater than after is after followed by a
			// zero byte.
			lower = append(append(slices.Clip(prefix), after...), 0)
		}
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return nil, fmt.Errorf("pebblestore: iterate: %w", err)
		}
		n := 0
		for valid := it.First(); valid && n < limit; valid = it.Next() {
			ids = append(ids, string(it.Key()[len(prefix):]))
			n++
		}
		if err := closeIter(it, it.Error()); err != nil {
			return nil, err
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return slices.Clip(ids[:min(len(ids), limit)]), nil
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
