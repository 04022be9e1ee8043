package connector

import "sync"

// bcastIndexSize is how many recent broadcasts per app the index keeps.
const bcastIndexSize = 256

// bcastIndex remembers the push ids of each app's recent broadcasts by
// sequence number, so that counting a device's broadcast ack needs no store
// read. It is safe for concurrent use.
type bcastIndex struct {
	mu   sync.RWMutex
	apps map[string]*bcastRing
}

type bcastRing struct {
	epoch uint64
	seqs  [bcastIndexSize]uint64
	ids   [bcastIndexSize]string
}

func newBcastIndex() *bcastIndex { return &bcastIndex{apps: map[string]*bcastRing{}} }

// record notes broadcast seq of an app's stream in epoch.
func (x *bcastIndex) record(appID string, epoch, seq uint64, pushID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	r := x.apps[appID]
	if r == nil || r.epoch != epoch {
		r = &bcastRing{epoch: epoch}
		x.apps[appID] = r
	}
	i := seq % bcastIndexSize
	r.seqs[i], r.ids[i] = seq, pushID
}

// lookup returns the push ids of broadcasts (from, through] of an app's
// stream in epoch, and false unless it knows every one of them.
func (x *bcastIndex) lookup(appID string, epoch, from, through uint64) ([]string, bool) {
	if through <= from || through-from > bcastIndexSize {
		return nil, false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	r := x.apps[appID]
	if r == nil || r.epoch != epoch {
		return nil, false
	}
	out := make([]string, 0, through-from)
	for seq := from + 1; seq <= through; seq++ {
		i := seq % bcastIndexSize
		if r.seqs[i] != seq {
			return nil, false
		}
		out = append(out, r.ids[i])
	}
	return out, true
}
