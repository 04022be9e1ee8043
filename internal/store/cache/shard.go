package cache

import "sync"

// entry is one cached key. It sits in its shard's map and in the shard's
// intrusive LRU list.
type entry struct {
	key     string
	val     []byte // nil when the value is in the spill store
	spill   uint64 // non-zero: the generation under which the value was spilled
	expires int64  // Unix nanoseconds; 0 means never
	cost    int64
	prev    *entry
	next    *entry
}

// expired reports whether e's time to live has passed at now.
func (e *entry) expired(now int64) bool { return e.expires != 0 && now >= e.expires }

// removed records an entry taken out under a shard lock, to be finished
// (spill deletion, metrics, OnEvict) once the lock is released.
type removed struct {
	key    string
	spill  uint64
	reason EvictReason // 0: replaced by Set, no callback
}

// shard is one independently locked part of the cache.
type shard struct {
	mu    sync.Mutex
	items map[string]*entry
	root  entry // sentinel: root.next is the most, root.prev the least recently used
	bytes int64
	cap   int64
}

// init prepares an empty shard holding at most capacity bytes.
func (s *shard) init(capacity int64) {
	s.items = make(map[string]*entry)
	s.root.next, s.root.prev = &s.root, &s.root
	s.cap = capacity
}

// unlink takes e out of the list.
func (s *shard) unlink(e *entry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

// pushFront makes e the most recently used entry.
func (s *shard) pushFront(e *entry) {
	e.prev = &s.root
	e.next = s.root.next
	s.root.next.prev = e
	s.root.next = e
}

// touch marks e as just used.
func (s *shard) touch(e *entry) {
	if s.root.next != e {
		s.unlink(e)
		s.pushFront(e)
	}
}

// remove takes e out of the shard and appends its record to rm.
func (s *shard) remove(e *entry, reason EvictReason, rm []removed) []removed {
	delete(s.items, e.key)
	s.unlink(e)
	s.bytes -= e.cost
	return append(rm, removed{key: e.key, spill: e.spill, reason: reason})
}

// makeRoom evicts least recently used entries until cost more bytes fit.
// The caller has checked that cost <= s.cap.
func (s *shard) makeRoom(cost int64, rm []removed) []removed {
	for s.bytes+cost > s.cap {
		rm = s.remove(s.root.prev, EvictCapacity, rm)
	}
	return rm
}

// sweep removes every expired entry.
func (s *shard) sweep(now int64, rm []removed) []removed {
	for e := s.root.prev; e != &s.root; {
		prev := e.prev
		if e.expired(now) {
			rm = s.remove(e, EvictExpired, rm)
		}
		e = prev
	}
	return rm
}
