package gateway

import (
	"sync"
	"time"

	"github.com/mopush/mopush/dispatcher"
)

// downFor is how long a connector that could not be reached is passed
// over: its devices' messages go to the next ring nodes meanwhile. It is
// short beside the ring's TTL (dispatcher.DefaultTTL), so that a connector
// that was only slow for a moment is soon tried again.
const downFor = 2 * time.Second

// fallbackDepth is how many ring nodes after a device's owner may take its
// messages when the nodes before them are down: the fallbacks the
// dispatcher gives devices to connect to, so a device that came to a
// fallback finds its messages there.
const fallbackDepth = dispatcher.DefaultFallbacks

// downNodes remembers the connectors that could not be reached lately, so
// that every push to their devices does not pay a failed dial (or, for a
// host gone from the network, a dial timeout) before its fallback.
type downNodes struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func newDownNodes() *downNodes { return &downNodes{until: map[string]time.Time{}} }

// mark records that node id could not be reached at now.
func (d *downNodes) mark(id string, now time.Time) {
	d.mu.Lock()
	d.until[id] = now.Add(downFor)
	d.mu.Unlock()
}

// any reports whether some node is marked, without a lock held for long:
// the common case, in which routing takes each device's owner.
func (d *downNodes) any(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, t := range d.until {
		if !now.Before(t) {
			delete(d.until, id)
		}
	}
	return len(d.until) > 0
}

// is reports whether node id is marked at now.
func (d *downNodes) is(id string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.until[id]
	return ok && now.Before(t)
}

// Down reports whether the gateway passes connector nodeID over at the
// moment, because a call to it got no answer in the last 2 s: a dispatcher
// in the same process lists such a node last (dispatcher.WithDown).
func (g *Gateway) Down(nodeID string) bool { return g.down.is(nodeID, time.Now()) }

// pick returns the node to send a device's message to: its owner, or when
// the owner is down, the first ring node after it that is not, with
// fallback set. ok is false when every candidate is down or the ring is
// empty.
func (d *downNodes) pick(ring *dispatcher.Ring, deviceID string, checkDown bool, now time.Time) (n dispatcher.Node, fallback, ok bool) {
	if !checkDown {
		n, ok = ring.Owner(deviceID)
		return n, false, ok
	}
	for k, c := range ring.Owners(deviceID, 1+fallbackDepth) {
		if !d.is(c.ID, now) {
			return c, k > 0, true
		}
	}
	return dispatcher.Node{}, false, false
}
