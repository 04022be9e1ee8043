package pebblestore

import (
	"fmt"

	"github.com/cockroachdb/pebble"
)

// indexBuild is an index whose entries buildIndexes writes for the records
// stored before the index existed.
type indexBuild struct {
	marker string // name of the meta marker that says it is built
	record string // what a record is, for the log
	tag    byte   // tag of the records scanned
	// entries sets in b the index entries of the record with the id and
	// value, and returns how many; an error skips the record.
	entries func(b *pebble.Batch, id string, v []byte) (int, error)
}

// indexBuildBatch is how many index entries buildIndex writes per batch, at
// least.
const indexBuildBatch = 4096

// buildIndexes writes, for each index of builds whose marker the database
// lacks, the entries of every stored record, and then the markers of all
// of them in one synced batch, which syncs the entries too (the log is one
// sequence): a new database gets its markers with one fsync, and one that
// has them all is only read. Open runs it before it returns the store, so
// no write of a record comes in between. A crash before the markers are
// written leaves entries that the next Open writes again.
func (s *Store) buildIndexes(builds ...indexBuild) error {
	markers := s.db.NewBatch()
	for _, ib := range builds {
		if err := s.buildIndex(ib, markers); err != nil {
			markers.Close()
			return err
		}
	}
	if markers.Empty() {
		return markers.Close()
	}
	return s.commitSync(markers)
}

// buildIndex writes the entries of ib for every stored record, in batches
// committed without fsync, and sets its marker in markers; it does nothing
// when the database has the marker. A record whose entries fail is logged
// and skipped.
func (s *Store) buildIndex(ib indexBuild, markers *pebble.Batch) error {
	marker := metaKey(ib.marker)
	if built, err := s.exists(marker); err != nil || built {
		return err
	}
	it, err := s.prefixIter([]byte{ib.tag})
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	records, entries, skipped := 0, 0, 0
	for valid := it.First(); valid; valid = it.Next() {
		id := string(it.Key()[1:])
		v, err := it.ValueAndErr()
		if err != nil {
			b.Close()
			return closeIter(it, fmt.Errorf("pebblestore: build %s: %w", ib.marker, err))
		}
		n, err := ib.entries(b, id, v)
		if err != nil {
			s.log.Warn(ib.marker+": "+ib.record+" skipped", ib.record, id, "err", err)
			skipped++
			continue
		}
		records++
		entries += n
		if b.Count() >= indexBuildBatch {
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
	if b.Empty() {
		b.Close()
	} else if err := commit(b, pebble.NoSync); err != nil {
		return err
	}
	markers.Set(marker, nil, nil)
	if records > 0 || skipped > 0 {
		s.log.Info(ib.marker+" built", ib.record+"s", records, "entries", entries, "skipped", skipped)
	}
	return nil
}
