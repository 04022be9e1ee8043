package gateway

import (
	"time"

	"github.com/mopush/mopush/internal/capmap"
)

// maxOwners bounds the devices an owners cache holds (about 120 bytes
// each).
const maxOwners = 1 << 16

// ownersTTL is how long an owners entry answers without a store read.
const ownersTTL = time.Minute

// owners keeps the app of devices this gateway saw in the store, so that a
// push to devices found here checks them without a store read. A device
// never moves to another app, but it may be deleted: this gateway forgets
// the devices it deletes, and an entry older than ownersTTL is read again,
// so a device deleted through another gateway is taken as a target for at
// most that long. A full cache drops an arbitrary entry.
type owners struct {
	m   *capmap.Map[string, owner]
	now func() time.Time
}

type owner struct {
	app  string
	seen time.Time
}

func newOwners(max int) *owners {
	return &owners{m: capmap.New[string, owner](max), now: time.Now}
}

func (c *owners) get(deviceID string) (appID string, ok bool) {
	o, ok := c.m.Get(deviceID)
	if !ok || c.now().Sub(o.seen) >= ownersTTL {
		return "", false
	}
	return o.app, true
}

func (c *owners) put(deviceID, appID string) { c.m.Put(deviceID, owner{app: appID, seen: c.now()}) }

// forget drops a deleted device.
func (c *owners) forget(deviceID string) { c.m.Delete(deviceID) }
