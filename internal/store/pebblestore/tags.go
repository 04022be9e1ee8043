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

// tagBuildBatch is how many index entries buildTagIndex writes per batch.
const tagBuildBatch = 4096

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

// buildTagIndex writes the tag index entries of every stored device, for a
// database written before the index existed, and then the marker
// metaTagIndex, synced; a database that has the marker is left alone. Open
// runs it before it returns the store, so no write of a device comes in
// between. A device record that does not decode is logged and skipped: it
// cannot be read either. A crash before the marker is written leaves
// entries that the next Open writes again.
func (s *Store) buildTagIndex() error {
	marker := metaKey(metaTagIndex)
	if built, err := s.exists(marker); err != nil || built {
		return err
	}
	it, err := s.prefixIter([]byte{tagDevice})
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	devices, entries, skipped := 0, 0, 0
	for valid := it.First(); valid; valid = it.Next() {
		id := string(it.Key()[1:])
		v, err := it.ValueAndErr()
		if err != nil {
			b.Close()
			return closeIter(it, fmt.Errorf("pebblestore: build tag index: %w", err))
		}
		d, err := decodeDevice(id, v)
		if err != nil {
			s.log.Warn("tag index: device skipped", "device", id, "err", err)
			skipped++
			continue
		}
		devices++
		for _, tag := range d.Tags {
			b.Set(tagKey(d.AppID, tag, id), nil, nil)
			entries++
		}
		if b.Count() >= tagBuildBatch {
			if err := commit(b, pebble.NoSync); err != nil {
				return closeIter(it, err)
			}
			b = s.db.NewBatch()
		}
	}
	if err := closeIter(it, it.Error()); err != nil {
		b.Close()
		return err
	}
	// The synced commit of the marker syncs the batches before it too: the
	// log is one sequence.
	b.Set(marker, nil, nil)
	if err := s.commitSync(b); err != nil {
		return err
	}
	if devices > 0 || skipped > 0 {
		s.log.Info("tag index built", "devices", devices, "entries", entries, "skipped", skipped)
	}
	return nil
}
