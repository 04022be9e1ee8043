package storetest

import "github.com/mopush/mopush/internal/store"

// Snapshot holds versions of devices taken earlier. A test store answers
// its reads of devices from one, as a read that raced other writers would,
// while its writes go to the store as it is.
type Snapshot map[string]*store.Device

// Devices returns copies of the snapshot's versions of ids, by position;
// an id it does not hold is nil.
func (s Snapshot) Devices(ids []string) []*store.Device {
	out := make([]*store.Device, len(ids))
	for i, id := range ids {
		if d := s[id]; d != nil {
			out[i] = d.Clone()
		}
	}
	return out
}
