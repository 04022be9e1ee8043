package pebblestore

import (
	"maps"
	"sync"

	"github.com/mopush/mopush/internal/store"
)

// Bounds of the stream tails kept in memory.
const (
	tailLen       = 4       // newest messages kept per device
	maxTailsBytes = 8 << 20 // tailMsgSize of every kept message together
	// tailMsgOverhead is what a kept message takes in memory beyond its
	// encoded bytes: the store.Message and its data map.
	tailMsgOverhead = 128
)

// tailMsgSize is what a tail counts for a message encoded in n bytes.
func tailMsgSize(n int) int { return n + tailMsgOverhead }

// tails keeps, for the devices this process appended to last, the stream
// head and the newest messages. Advance, which runs twice per delivered
// message (sent, then acked), finds there the messages it covers without
// an iterator, a seek through every level and a decode each; Append
// finds the head without a read. Only Append writes heads and messages,
// under the device's stripe lock, and it updates its tail after the commit
// (or drops it when the commit failed), so a kept tail is the stored
// stream's newest part. A read of a stream without a tail (a catch-up after
// a restart, say) keeps the newest messages it found, under the same lock,
// unless an append to the stripe ended while it read (fillTail). A full
// cache drops arbitrary devices, whose streams are read from the store
// again.
type tails struct {
	mu    sync.Mutex
	m     map[string]*tail
	bytes int
	max   int
}

// tail is one device's head and newest messages, oldest first, with
// consecutive seqs ending at h.seq and none below h.first. A tail is
// never changed once stored: put replaces it.
type tail struct {
	h     head
	msgs  []tailMsg
	bytes int
}

type tailMsg struct {
	m    store.Message
	size int // tailMsgSize
}

func newTails(max int) *tails { return &tails{m: map[string]*tail{}, max: max} }

// get returns the device's tail; its messages must not be changed.
func (c *tails) get(dev string) (*tail, bool) {
	c.mu.Lock()
	t, ok := c.m[dev]
	c.mu.Unlock()
	return t, ok
}

// put records that h was stored as the device's head together with added
// (consecutive, ending at h.seq). Callers hold the device's stripe lock.
func (c *tails) put(dev string, h head, added []tailMsg) {
	for i := range added {
		added[i].m.Data = maps.Clone(added[i].m.Data)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var older []tailMsg
	if prev := c.m[dev]; prev != nil && prev.h.epoch == h.epoch && len(added) > 0 && prev.h.seq+1 == added[0].m.Seq {
		older = prev.msgs
	}
	// The tail is the newest tailLen of older and added that are not
	// below h.first, copied into a slice of exactly their number: one
	// allocation, and no spare room kept in the cache.
	n := len(older) + len(added)
	at := func(i int) tailMsg {
		if i < len(older) {
			return older[i]
		}
		return added[i-len(older)]
	}
	from := max(0, n-tailLen)
	for from < n && at(from).m.Seq < h.first {
		from++
	}
	t := &tail{h: h, msgs: make([]tailMsg, 0, n-from)}
	for i := from; i < n; i++ {
		tm := at(i)
		t.msgs = append(t.msgs, tm)
		t.bytes += tm.size
	}
	c.removeLocked(dev)
	for c.bytes+t.bytes > c.max && len(c.m) > 0 {
		for k := range c.m {
			c.removeLocked(k)
			break
		}
	}
	if t.bytes > c.max {
		return
	}
	c.m[dev] = t
	c.bytes += t.bytes
}

// drop forgets the device's tail.
func (c *tails) drop(dev string) {
	c.mu.Lock()
	c.removeLocked(dev)
	c.mu.Unlock()
}

func (c *tails) removeLocked(dev string) {
	if t, ok := c.m[dev]; ok {
		c.bytes -= t.bytes
		delete(c.m, dev)
	}
}

// covered returns the messages from..to (seqs) when the tail holds all of
// them.
func (t *tail) covered(from, to uint64) ([]store.Message, bool) {
	if len(t.msgs) == 0 || from < t.msgs[0].m.Seq {
		return nil, false
	}
	var out []store.Message
	for _, tm := range t.msgs {
		if tm.m.Seq >= from && tm.m.Seq <= to {
			out = append(out, tm.m)
		}
	}
	return out, true
}
