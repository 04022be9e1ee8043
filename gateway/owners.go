package gateway

import "sync"

// maxOwners bounds the devices an owners cache holds (about 100 bytes
// each).
const maxOwners = 1 << 16

// owners keeps the app of devices this gateway saw in the store. A device
// never moves to another app and is never deleted, so an entry never goes
// stale; a push to devices found here checks them without a store read.
// A full cache drops an arbitrary entry.
type owners struct {
	mu  sync.Mutex
	m   map[string]string
	max int
}

func newOwners(max int) *owners { return &owners{m: map[string]string{}, max: max} }

func (c *owners) get(deviceID string) (appID string, ok bool) {
	c.mu.Lock()
	appID, ok = c.m[deviceID]
	c.mu.Unlock()
	return appID, ok
}

func (c *owners) put(deviceID, appID string) {
	c.mu.Lock()
	if _, ok := c.m[deviceID]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[deviceID] = appID
	c.mu.Unlock()
}
