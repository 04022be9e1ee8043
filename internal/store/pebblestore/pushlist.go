package pebblestore

import (
	"context"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble"

	"github.com/mopush/mopush/internal/store"
)

var _ store.PushLister = (*Store)(nil)

// metaPushIndex names the marker that says the index of apps' pushes holds
// the entries of every push stored before it existed.
const metaPushIndex = "push index"

// PushIDsByApp returns the ids of up to limit pushes of the app whose id is
// less than before ("" for the newest), newest first: the app's index
// entries read backwards from before, which the iterator's exclusive upper
// bound leaves out.
func (s *Store) PushIDsByApp(ctx context.Context, appID, before string, limit int) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	if limit <= 0 {
		return nil, nil
	}
	prefix := appPushPrefix(appID)
	upper := prefixEnd(prefix)
	if before != "" {
		upper = append(slices.Clip(prefix), before...)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("pebblestore: iterate: %w", err)
	}
	var ids []string
	for valid := it.Last(); valid && len(ids) < limit; valid = it.Prev() {
		ids = append(ids, string(it.Key()[len(prefix):]))
	}
	return ids, closeIter(it, it.Error())
}

// pushIndexBuild is the build of the index entry of every stored push,
// for a database written before the index existed (see buildIndexes). A
// push record that does not decode is logged and skipped: it cannot be
// read either.
func pushIndexBuild() indexBuild {
	return indexBuild{marker: metaPushIndex, record: "push", tag: tagPush,
		entries: func(b *pebble.Batch, id string, v []byte) (int, error) {
			p, err := decodePush(v)
			if err != nil {
				return 0, err
			}
			b.Set(appPushKey(p.AppID, id), nil, nil)
			return 1, nil
		}}
}
