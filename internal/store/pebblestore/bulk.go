package pebblestore

import (
	"context"
	"fmt"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// PutDevices creates or replaces many devices, leaving the devices and the
// alias index as PutDevice for each in order would, in one batch with one
// synced commit: all or none of them are written. A device given more than
// once ends as its last value. It holds the stripes of all the devices
// until the commit is done. An empty list does nothing; an empty id fails
// the call before anything is written.
func (s *Store) PutDevices(ctx context.Context, devs []*store.Device) error {
	devs, err := lastByID(devs)
	if err != nil || len(devs) == 0 {
		return err
	}
	set := make([]uint16, len(devs))
	for i, d := range devs {
		set[i] = s.locks.index(tagDevice, d.ID)
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.end()
	set = s.locks.lock(set)
	defer s.locks.unlock(set)

	b := s.db.NewBatch()
	for _, d := range devs {
		if err := s.putDeviceTo(b, d); err != nil {
			b.Close()
			return err
		}
	}
	return s.commitSync(b)
}

// lastByID returns devs with each id once, at its first position, holding
// the last device given with that id. It fails on an empty id.
func lastByID(devs []*store.Device) ([]*store.Device, error) {
	at := make(map[string]int, len(devs))
	out := make([]*store.Device, 0, len(devs))
	for i, d := range devs {
		if d.ID == "" {
			return nil, fmt.Errorf("pebblestore: put devices: device %d has no id", i)
		}
		if j, ok := at[d.ID]; ok {
			out[j] = d
			continue
		}
		at[d.ID] = len(out)
		out = append(out, d)
	}
	return out, nil
}

// ReplaceDevices writes news[i] where the device stored still is olds[i]
// (reccodec.SameDevice), in one batch with one synced commit, holding the
// stripes of all the devices from the comparison to the commit. It returns
// the positions it did not write: devices written or deleted since olds
// were read. Each id may appear once.
func (s *Store) ReplaceDevices(ctx context.Context, olds, news []*store.Device) ([]int, error) {
	if len(olds) != len(news) {
		return nil, fmt.Errorf("pebblestore: replace devices: %d read, %d new", len(olds), len(news))
	}
	if len(news) == 0 {
		return nil, nil
	}
	set := make([]uint16, len(news))
	seen := make(map[string]bool, len(news))
	for i, d := range news {
		if d.ID == "" || seen[d.ID] {
			return nil, fmt.Errorf("pebblestore: replace devices: device %d has no id or a repeated one", i)
		}
		seen[d.ID] = true
		set[i] = s.locks.index(tagDevice, d.ID)
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.end()
	set = s.locks.lock(set)
	defer s.locks.unlock(set)

	b := s.db.NewBatch()
	var stale []int
	for i, d := range news {
		cur, err := s.device(d.ID)
		if err != nil {
			b.Close()
			return nil, err
		}
		if cur == nil || !reccodec.SameDevice(cur, olds[i]) {
			stale = append(stale, i)
			continue
		}
		if err := s.putDeviceTo(b, d); err != nil {
			b.Close()
			return nil, err
		}
	}
	if len(stale) == len(news) {
		b.Close()
		return stale, nil
	}
	return stale, s.commitSync(b)
}
