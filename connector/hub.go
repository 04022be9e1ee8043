package connector

import (
	"hash/maphash"
	"sync"
)

// hub maps device ids to live sessions, in shards to spread lock contention.
type hub struct {
	seed   maphash.Seed
	shards []hubShard
}

type hubShard struct {
	mu       sync.RWMutex
	sessions map[string]*session
	byApp    map[string]map[*session]struct{}
}

func newHub(n int) *hub {
	h := &hub{seed: maphash.MakeSeed(), shards: make([]hubShard, n)}
	for i := range h.shards {
		h.shards[i].sessions = make(map[string]*session)
		h.shards[i].byApp = make(map[string]map[*session]struct{})
	}
	return h
}

func (h *hub) shard(id string) *hubShard {
	return &h.shards[maphash.String(h.seed, id)%uint64(len(h.shards))]
}

// get returns the live session of a device, or nil.
func (h *hub) get(id string) *session {
	s := h.shard(id)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sessions[id]
}

// add registers s and returns the session it replaced, if any.
func (h *hub) add(s *session) *session {
	sh := h.shard(s.deviceID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old := sh.sessions[s.deviceID]
	sh.sessions[s.deviceID] = s
	if old != nil {
		delete(sh.byApp[old.appID], old)
	}
	app := sh.byApp[s.appID]
	if app == nil {
		app = make(map[*session]struct{})
		sh.byApp[s.appID] = app
	}
	app[s] = struct{}{}
	return old
}

// remove unregisters s if it is still the device's session.
func (h *hub) remove(s *session) {
	sh := h.shard(s.deviceID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.sessions[s.deviceID] == s {
		delete(sh.sessions, s.deviceID)
	}
	if app := sh.byApp[s.appID]; app != nil {
		delete(app, s)
		if len(app) == 0 {
			delete(sh.byApp, s.appID)
		}
	}
}

// eachOfApp calls f for every live session of an app; f must not block.
func (h *hub) eachOfApp(appID string, f func(*session)) {
	var list []*session
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for s := range sh.byApp[appID] {
			list = append(list, s)
		}
		sh.mu.RUnlock()
	}
	for _, s := range list {
		f(s)
	}
}

// each calls f for every live session; f must not block.
func (h *hub) each(f func(*session)) {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		list := make([]*session, 0, len(sh.sessions))
		for _, s := range sh.sessions {
			list = append(list, s)
		}
		sh.mu.RUnlock()
		for _, s := range list {
			f(s)
		}
	}
}

// count returns the number of live sessions.
func (h *hub) count() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		n += len(sh.sessions)
		sh.mu.RUnlock()
	}
	return n
}
