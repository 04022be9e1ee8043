package dispatcher

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Backoff between attempts to (re)start the watch.
const (
	watchRetryMin = 100 * time.Millisecond
	watchRetryMax = 5 * time.Second
)

// maxBatch bounds the updates merged into one ring build, so that a steady
// flood of updates still publishes rings.
const maxBatch = 256

// MembershipConfig tunes a Membership.
type MembershipConfig struct {
	// TTL is the bucket's TTL (its MaxAge) when Run has to create the
	// bucket; an existing bucket keeps its own. Default DefaultTTL (10s),
	// at least MinTTL (1s).
	TTL time.Duration
	// VNodes is the number of ring points per unit of node weight.
	// Default DefaultVNodes.
	VNodes int
}

// Membership follows the bucket of live connectors and keeps a ring of
// them. Run watches the bucket; Ring, WaitReady and Changes are safe for
// concurrent use from any goroutine.
type Membership struct {
	js      jetstream.JetStream
	cfg     MembershipConfig
	log     *slog.Logger
	metrics *Metrics

	ring    atomic.Pointer[Ring]
	running atomic.Bool
	ready   chan struct{} // closed once the first snapshot is applied
	once    sync.Once
	done    chan struct{} // closed when Run returns

	mu   sync.Mutex
	subs []chan struct{}
}

// NewMembership returns a Membership of the bucket on js. Nothing happens
// until Run. The ring size is reported on m, which may be nil; a nil log
// discards.
func NewMembership(js jetstream.JetStream, cfg MembershipConfig, log *slog.Logger, m *Metrics) *Membership {
	cfg.TTL = normTTL(cfg.TTL)
	if cfg.VNodes <= 0 {
		cfg.VNodes = DefaultVNodes
	}
	ms := &Membership{
		js:      js,
		cfg:     cfg,
		log:     orNop(log).With("component", "dispatcher"),
		metrics: m,
		ready:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	ms.ring.Store(NewRing(nil, cfg.VNodes))
	return ms
}

// Ring returns the current ring: empty before the first snapshot, never
// nil. The ring returned stays valid after it is replaced.
func (m *Membership) Ring() *Ring { return m.ring.Load() }

// WaitReady returns nil once the initial snapshot of the bucket is on the
// ring, ErrStopped if Run returned before that, or ctx's error.
func (m *Membership) WaitReady(ctx context.Context) error {
	select {
	case <-m.ready:
		return nil
	default:
	}
	select {
	case <-m.ready:
		return nil
	case <-m.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Changes returns a new channel that receives a value after each change of
// the ring's nodes (a join, a leave, an expiry, a changed URL or weight),
// the first snapshot included when it is not empty. Each call makes an
// independent subscription, so several consumers can follow changes. The
// channel holds one pending value: changes that come while one is pending
// merge into it, so a consumer reads Ring after each receive and may see
// several changes at once. The channel is never closed; select on it
// together with ctx.Done().
func (m *Membership) Changes() <-chan struct{} {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	m.subs = append(m.subs, ch)
	m.mu.Unlock()
	return ch
}

// Run watches the bucket, creating it if it is missing, and swaps in a new
// ring on every change of its members. A watch that fails or ends is
// restarted with backoff. Run returns nil when ctx ends, or ErrRunning if
// the Membership already ran.
func (m *Membership) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer close(m.done)
	retry := watchRetryMin
	for {
		synced, err := m.watch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if synced {
			retry = watchRetryMin
		}
		m.log.WarnContext(ctx, "membership watch ended", "error", err, "retry_in", retry)
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		retry = min(2*retry, watchRetryMax)
	}
}

// watch runs one watch of the bucket until it ends. It reports whether the
// watch got as far as its initial snapshot.
func (m *Membership) watch(ctx context.Context) (bool, error) {
	kv, err := openBucket(ctx, m.js, m.cfg.TTL)
	if err != nil {
		return false, err
	}
	m.checkBucket(ctx, kv)
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return false, fmt.Errorf("watch bucket %s: %w", Bucket, err)
	}
	defer w.Stop() //nolint:errcheck // the watch is over either way
	members := make(map[string]Node)
	synced := false
	for {
		select {
		case <-ctx.Done():
			return synced, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return synced, errWatchClosed
			}
			changed, open := m.consume(members, e, &synced, w.Updates())
			if !open {
				return synced, errWatchClosed
			}
			if synced && changed {
				m.apply(ctx, members)
			}
		}
	}
}

// consume applies e and every update already queued behind it to
// members, so that a burst of joins builds one ring, not one per join. It
// reports whether members changed (or the snapshot just completed) and
// whether the watch is still open.
func (m *Membership) consume(members map[string]Node, e jetstream.KeyValueEntry, synced *bool,
	updates <-chan jetstream.KeyValueEntry) (changed, open bool) {
	for n := 1; ; n++ {
		if e == nil { // the watch's marker: the initial snapshot is complete
			*synced, changed = true, true
		} else if m.update(members, e) {
			changed = true
		}
		if n == maxBatch {
			return changed, true
		}
		select {
		case next, ok := <-updates:
			if !ok {
				return changed, false
			}
			e = next
		default:
			return changed, true
		}
	}
}

// update applies one entry to members and reports whether they changed.
// Deletes, purges and the markers of expired keys all remove the key.
func (m *Membership) update(members map[string]Node, e jetstream.KeyValueEntry) bool {
	old, had := members[e.Key()]
	if e.Operation() != jetstream.KeyValuePut {
		delete(members, e.Key())
		return had
	}
	n, err := decodeNode(e.Key(), e.Value())
	if err != nil {
		m.log.Warn("ignoring bad connector entry", "key", e.Key(), "revision", e.Revision(), "error", err)
		delete(members, e.Key())
		return had
	}
	members[e.Key()] = n
	return !had || old != n
}

// apply builds a ring of members and swaps it in if its nodes differ from
// the current ring's, then marks the Membership ready.
func (m *Membership) apply(ctx context.Context, members map[string]Node) {
	next := NewRing(slices.Collect(maps.Values(members)), m.cfg.VNodes)
	prev := m.ring.Load()
	if !sameNodes(prev, next) {
		m.metrics.setRingNodes(next.Len()) // first, so that a reader of the ring sees the gauge agree
		m.ring.Store(next)
		joined, left := diffIDs(prev, next)
		m.log.InfoContext(ctx, "ring changed", "nodes", next.Len(), "joined", joined, "left", left)
		m.notify()
	}
	m.once.Do(func() {
		m.metrics.setRingNodes(next.Len())
		close(m.ready)
	})
}

func (m *Membership) notify() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ch := range m.subs {
		select {
		case ch <- struct{}{}:
		default: // one is pending already
		}
	}
}

// checkBucket warns when the bucket does not expire keys or does not tell
// watchers about expiries: crashed connectors would then stay on the ring.
func (m *Membership) checkBucket(ctx context.Context, kv jetstream.KeyValue) {
	st, err := kv.Status(ctx)
	if err != nil {
		m.log.WarnContext(ctx, "bucket status unavailable", "bucket", Bucket, "error", err)
		return
	}
	if st.TTL() <= 0 || st.LimitMarkerTTL() <= 0 {
		m.log.WarnContext(ctx, "bucket does not report expired connectors; recreate it",
			"bucket", Bucket, "ttl", st.TTL(), "limit_marker_ttl", st.LimitMarkerTTL())
	}
}

// diffIDs returns the IDs of nodes in next but not prev, and in prev but
// not next.
func diffIDs(prev, next *Ring) (joined, left []string) {
	for _, n := range next.nodes {
		if _, ok := prev.Node(n.ID); !ok {
			joined = append(joined, n.ID)
		}
	}
	for _, n := range prev.nodes {
		if _, ok := next.Node(n.ID); !ok {
			left = append(left, n.ID)
		}
	}
	return joined, left
}
