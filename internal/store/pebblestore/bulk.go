package pebblestore

import (
	"context"
	"fmt"

	"github.com/mopush/mopush/internal/store"
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
