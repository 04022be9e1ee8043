package gateway

import "github.com/mopush/mopush/internal/capmap"

// maxOwners bounds the devices an owners cache holds (about 100 bytes
// each).
const maxOwners = 1 << 16

// owners keeps the app of devices this gateway saw in the store. A device
// never moves to another app and is never deleted, so an entry never goes
// stale; a push to devices found here checks them without a store read.
// A full cache drops an arbitrary entry.
type owners struct{ m *capmap.Map[string, string] }

func newOwners(max int) *owners { return &owners{m: capmap.New[string, string](max)} }

func (c *owners) get(deviceID string) (appID string, ok bool) { return c.m.Get(deviceID) }

func (c *owners) put(deviceID, appID string) { c.m.Put(deviceID, appID) }
