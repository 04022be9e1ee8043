package cache

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"strings"
	"sync/atomic"
	"time"
)

// Cache is the L0 in-process cache. Build it with New.
type Cache struct {
	cfg      Config
	seed     maphash.Seed
	shards   []shard
	mask     uint64
	shardCap int64
	spillID  [8]byte // prefix of this cache's keys in the spill store
	gen      atomic.Uint64
	bytes    atomic.Int64
	count    atomic.Int64
	metrics  *metrics
}

var _ Invalidator = (*Cache)(nil)

// New returns an empty cache. It starts no goroutine; call Run to sweep
// expired entries in the background.
func New(cfg Config) (*Cache, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cache{
		cfg:      cfg,
		seed:     maphash.MakeSeed(),
		shards:   make([]shard, cfg.Shards),
		mask:     uint64(cfg.Shards - 1),
		shardCap: cfg.MaxBytes / int64(cfg.Shards),
	}
	for i := range c.shards {
		c.shards[i].init(c.shardCap)
	}
	rand.Read(c.spillID[:]) //nolint:errcheck // never fails
	if c.metrics, err = newMetrics(cfg.Registerer, cfg.Name, c); err != nil {
		return nil, err
	}
	return c, nil
}

// shardFor returns the shard that owns key.
func (c *Cache) shardFor(key string) *shard {
	return &c.shards[maphash.String(c.seed, key)&c.mask]
}

// publish adds a shard's changes to the cache-wide totals. It is called with
// the shard lock held, so the totals never run ahead of the shards.
func (c *Cache) publish(bytes int64, count int) {
	if bytes != 0 {
		c.bytes.Add(bytes)
	}
	if count != 0 {
		c.count.Add(int64(count))
	}
}

// Get returns the value stored under key and whether there is one. The
// returned slice is shared with the cache: do not modify it.
func (c *Cache) Get(key string) ([]byte, bool) {
	s := c.shardFor(key)
	now := c.cfg.Now().UnixNano()
	s.mu.Lock()
	e, ok := s.items[key]
	if !ok {
		s.mu.Unlock()
		c.metrics.miss()
		return nil, false
	}
	if e.expired(now) {
		var buf [1]removed
		rm := s.remove(e, EvictExpired, buf[:0])
		c.publish(-e.cost, -1)
		s.mu.Unlock()
		c.finish(rm)
		c.metrics.miss()
		return nil, false
	}
	s.touch(e)
	val, gen := e.val, e.spill
	s.mu.Unlock()
	if gen != 0 {
		return c.getSpilled(key, gen)
	}
	c.metrics.hit()
	return val, true
}

// Set stores val under key for ttl: ttl 0 means Config.DefaultTTL, NoExpiry
// (or any negative ttl) means never. It copies val. It evicts least recently
// used entries of the key's shard to make room. It returns ErrTooLarge for an
// entry that cannot fit, or the spill store's error; either way the key's
// previous entry is gone, so no stale value stays behind.
func (c *Cache) Set(key string, val []byte, ttl time.Duration) error {
	e := &entry{key: strings.Clone(key), expires: c.expiry(ttl)}
	spill := c.cfg.Spill != nil && len(val) > c.cfg.SpillThreshold
	if spill {
		e.cost = int64(len(key)) + EntryOverhead
	} else {
		e.cost = int64(len(key)+len(val)) + EntryOverhead
	}
	if e.cost > c.shardCap {
		c.drop(key)
		return fmt.Errorf("%w: %d bytes, at most %d per entry", ErrTooLarge, e.cost, c.shardCap)
	}
	if spill {
		e.spill = c.gen.Add(1)
		if err := c.cfg.Spill.Put(c.spillKey(e.spill), val); err != nil {
			c.metrics.spillError()
			c.drop(key)
			return fmt.Errorf("spill %d bytes: %w", len(val), err)
		}
	} else {
		e.val = append(make([]byte, 0, len(val)), val...)
	}
	c.insert(e)
	return nil
}

// expiry turns a ttl into an absolute expiry in Unix nanoseconds, 0 for
// never.
func (c *Cache) expiry(ttl time.Duration) int64 {
	if ttl == 0 {
		ttl = c.cfg.DefaultTTL
	}
	if ttl <= 0 {
		return 0
	}
	return c.cfg.Now().Add(ttl).UnixNano()
}

// insert puts e in its shard, replacing an entry with the same key and
// evicting until it fits.
func (c *Cache) insert(e *entry) {
	s := c.shardFor(e.key)
	var buf [4]removed
	rm := buf[:0]
	s.mu.Lock()
	bytes, count := s.bytes, len(s.items)
	if old, ok := s.items[e.key]; ok {
		rm = s.remove(old, 0, rm)
	}
	rm = s.makeRoom(e.cost, rm)
	s.items[e.key] = e
	s.pushFront(e)
	s.bytes += e.cost
	c.publish(s.bytes-bytes, len(s.items)-count)
	s.mu.Unlock()
	c.finish(rm)
}

// drop removes key without telling OnEvict: a failed Set replaced it with
// nothing.
func (c *Cache) drop(key string) { c.removeKeys(0, key) }

// Delete removes key; OnEvict sees EvictDeleted.
func (c *Cache) Delete(key string) { c.removeKeys(EvictDeleted, key) }

// Invalidate removes the keys, typically because another node changed them;
// OnEvict sees EvictInvalidated. A bus message handler calls it.
func (c *Cache) Invalidate(keys ...string) { c.removeKeys(EvictInvalidated, keys...) }

// InvalidateAll removes every entry; OnEvict sees EvictInvalidated. It is the
// answer to losing the invalidation stream (a Redis reconnect or FLUSHALL).
func (c *Cache) InvalidateAll() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		rm := make([]removed, 0, len(s.items))
		bytes, count := s.bytes, len(s.items)
		for e := s.root.next; e != &s.root; {
			next := e.next
			rm = s.remove(e, EvictInvalidated, rm)
			e = next
		}
		c.publish(s.bytes-bytes, len(s.items)-count)
		s.mu.Unlock()
		c.finish(rm)
	}
}

// removeKeys removes each key that is present, for reason.
func (c *Cache) removeKeys(reason EvictReason, keys ...string) {
	for _, key := range keys {
		s := c.shardFor(key)
		var buf [1]removed
		s.mu.Lock()
		e, ok := s.items[key]
		if !ok {
			s.mu.Unlock()
			continue
		}
		rm := s.remove(e, reason, buf[:0])
		c.publish(-e.cost, -1)
		s.mu.Unlock()
		c.finish(rm)
	}
}

// finish completes removals once the shard lock is released: it deletes
// spilled values, counts evictions and calls OnEvict.
func (c *Cache) finish(rm []removed) {
	for _, r := range rm {
		if r.spill != 0 {
			if err := c.cfg.Spill.Delete(c.spillKey(r.spill)); err != nil {
				c.metrics.spillError()
				c.cfg.Logger.Warn("spill delete failed", "error", err)
			}
		}
		if r.reason == 0 {
			continue
		}
		c.metrics.evicted(r.reason)
		if c.cfg.OnEvict != nil {
			c.cfg.OnEvict(r.key, r.reason)
		}
	}
}

// spillKey names generation gen of this cache in the spill store.
func (c *Cache) spillKey(gen uint64) string {
	var b [16]byte
	copy(b[:8], c.spillID[:])
	binary.BigEndian.PutUint64(b[8:], gen)
	return string(b[:])
}

// getSpilled reads a value back from the spill store. A value missing there
// was replaced or evicted after the shard lock was released: a miss.
func (c *Cache) getSpilled(key string, gen uint64) ([]byte, bool) {
	val, ok, err := c.cfg.Spill.Get(c.spillKey(gen))
	if err != nil {
		c.metrics.spillError()
		c.cfg.Logger.Warn("spill read failed", "error", err)
		c.removeGen(key, gen, EvictFailed)
	}
	if err != nil || !ok {
		c.metrics.miss()
		return nil, false
	}
	c.metrics.hit()
	return val, true
}

// removeGen removes key if it still holds spill generation gen.
func (c *Cache) removeGen(key string, gen uint64, reason EvictReason) {
	s := c.shardFor(key)
	var buf [1]removed
	s.mu.Lock()
	e, ok := s.items[key]
	if !ok || e.spill != gen {
		s.mu.Unlock()
		return
	}
	rm := s.remove(e, reason, buf[:0])
	c.publish(-e.cost, -1)
	s.mu.Unlock()
	c.finish(rm)
}

// Len returns the number of entries, expired ones not yet swept included.
func (c *Cache) Len() int { return int(c.count.Load()) }

// Bytes returns the cost of all entries; it never exceeds Cap.
func (c *Cache) Bytes() int64 { return c.bytes.Load() }

// Cap returns the effective byte cap: MaxBytes rounded down to a multiple of
// the shard count.
func (c *Cache) Cap() int64 { return c.shardCap * int64(len(c.shards)) }

// Sweep removes every expired entry now and returns how many it removed.
// Run calls it every JanitorInterval.
func (c *Cache) Sweep() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		now := c.cfg.Now().UnixNano()
		s.mu.Lock()
		bytes, count := s.bytes, len(s.items)
		rm := s.sweep(now, nil)
		c.publish(s.bytes-bytes, len(s.items)-count)
		s.mu.Unlock()
		c.finish(rm)
		n += len(rm)
	}
	return n
}

// Run sweeps expired entries every JanitorInterval until ctx ends, then
// returns nil.
func (c *Cache) Run(ctx context.Context) error {
	t := time.NewTicker(c.cfg.JanitorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			c.Sweep()
		}
	}
}
