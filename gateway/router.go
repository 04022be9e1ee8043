package gateway

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/mopush/mopush/dispatcher"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
)

// routeAttempts is how often devices that were refused (ring moved) or
// failed are routed again before the gateway appends their message itself
// (storeLeft).
const routeAttempts = 3

// routeJob is a push to route: just accepted (with the push and its app's
// settings in hand), or resumed (id only; both are loaded).
type routeJob struct {
	id       string
	push     *store.Push
	settings *store.Settings
	// scheduled says the job (id only) is a scheduled push whose send
	// time came: it was never routed, unlike a resumed one.
	scheduled bool
	// delivered, if set, runs once when the first delivery attempt is
	// done, or when routing ends without one.
	delivered func()
}

// routeJob routes a pending push. release runs when the push is done
// with: finished, or left pending for a later sweep. That may be after
// routeJob returns, while the push's fallback checks wait to be stored.
func (g *Gateway) routeJob(ctx context.Context, job routeJob, release func()) {
	id, p := job.id, job.push
	delivered := func() {}
	if job.delivered != nil {
		delivered = sync.OnceFunc(job.delivered)
	}
	defer delivered()
	resumed := p == nil && !job.scheduled
	if p == nil {
		var err error
		if p, err = g.store.Push(ctx, id); err != nil {
			g.log.ErrorContext(ctx, "load push for routing failed", "push_id", id, "error", err)
			release()
			return
		}
	}
	if p.State != store.PushPending {
		release()
		return
	}
	start := time.Now()
	if p.Audience.Broadcast {
		g.routeBroadcast(ctx, p, resumed)
		g.m.routeS.Observe(time.Since(start).Seconds())
		release()
		return
	}
	if len(p.Audience.Tags) > 0 {
		g.routeTags(ctx, p, job.settings, resumed)
		g.m.routeS.Observe(time.Since(start).Seconds())
		release()
		return
	}
	counts, results, stopped := g.route(ctx, p, delivered, resumed)
	g.m.routeS.Observe(time.Since(start).Seconds())
	if stopped {
		// Some targets' message is not stored, and the gateway stops: the
		// push stays pending, and the next start routes it again.
		g.log.WarnContext(ctx, "push left pending at shutdown", "push_id", id)
		release()
		return
	}
	g.schedule(ctx, p, job.settings, results, func(err error) {
		defer release()
		if err != nil {
			// The push stays pending: a later resume routes it again.
			g.log.ErrorContext(ctx, "schedule relay fallback failed", "push_id", id, "error", err)
			return
		}
		// The counts and the state in one write: a push left pending when it
		// fails is routed again by a later sweep and counted once.
		if err := g.store.FinishPush(ctx, p.ID, counts); err != nil {
			g.log.ErrorContext(ctx, "finish push failed", "push_id", id, "error", err)
		}
	})
}

// route delivers p to its targets and returns the counts it decided
// (offline, failed) and the result of each target; deliveries and acks are
// counted by the connectors. afterFirst runs after the first attempt.
// resumed says p was routed before, by a gateway that stopped or crashed
// before it finished: its message may be in some streams already. stopped
// is true when the gateway began to stop while some targets' message was
// not stored yet: the push must stay pending.
func (g *Gateway) route(ctx context.Context, p *store.Push, afterFirst func(), resumed bool) (_ store.Counts, _ []route.Result, stopped bool) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.RouteTimeout)
	defer cancel()
	msg := store.Message{
		PushID: p.ID, Title: p.Notification.Title, Body: p.Notification.Body,
		Data: p.Notification.Data, SentAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
	}
	results := make([]route.Result, len(p.Targets))
	todo := make([]int, len(p.Targets))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; attempt < routeAttempts && len(todo) > 0; attempt++ {
		if attempt > 0 {
			wait := time.Duration(attempt*attempt) * 100 * time.Millisecond
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		// After an attempt whose outcome is unknown (no answer, an error
		// after a partial append), connectors skip streams that hold the
		// message already.
		g.deliverOnce(ctx, msg, p.Targets, todo, results, resumed || attempt > 0)
		if attempt == 0 {
			afterFirst()
		}
		todo = retryable(todo, results)
	}
	// What no connector took the gateway appends itself; while the store
	// fails too (a shard restarting), it tries again until the route's
	// deadline, so that a short outage loses nothing.
	if len(todo) > 0 && g.untilStored(ctx, func() bool {
		todo = g.storeLeft(ctx, msg, p.Targets, todo, results)
		return len(todo) == 0
	}) {
		return store.Counts{}, results, true
	}
	if len(todo) > 0 {
		g.log.ErrorContext(ctx, "message not stored for some devices; they count as failed", "push_id", p.ID,
			"devices", len(todo))
	}
	var c store.Counts
	for _, r := range results {
		g.m.deliveries.WithLabelValues(r.Status.String()).Inc()
		switch r.Status {
		case route.Offline:
			c.Offline++
		case route.Written:
		default:
			c.Failed++
		}
	}
	return c, results, false
}

func retryable(todo []int, results []route.Result) []int {
	var out []int
	for _, i := range todo {
		if s := results[i].Status; s == route.Refused || s == route.Failed || s == 0 {
			out = append(out, i)
		}
	}
	return out
}

// deliverOnce groups the targets at positions todo by the connector to
// send them to (the owner, or a fallback when the owner is down) and
// delivers every group at once, writing results by position. A connector
// that cannot be reached is marked down.
func (g *Gateway) deliverOnce(ctx context.Context, msg store.Message, targets []string, todo []int, results []route.Result, retry bool) {
	type group struct {
		node        dispatcher.Node
		fallbacks   int // devices sent here because their owner is down
		pos         []int
		ids         []string
		unreachable bool
	}
	ring := g.ring.Ring()
	now := time.Now()
	checkDown := g.down.any(now)
	groups := map[string]*group{}
	for _, i := range todo {
		n, fallback, ok := g.down.pick(ring, targets[i], checkDown, now)
		if !ok {
			results[i].Status = route.Failed
			continue
		}
		gr := groups[n.ID]
		if gr == nil {
			gr = &group{node: n}
			groups[n.ID] = gr
		}
		// One batch per node: a fallback batch also takes the devices the
		// node owns.
		if fallback {
			gr.fallbacks++
		}
		gr.pos = append(gr.pos, i)
		gr.ids = append(gr.ids, targets[i])
	}
	deliver := func(gr *group) {
		b := route.Batch{Message: msg, DeviceIDs: gr.ids, Fallback: gr.fallbacks > 0, Retry: retry}
		res, err := g.deliver.Deliver(ctx, gr.node, b)
		if err != nil && res == nil {
			g.log.WarnContext(ctx, "deliver failed", "node_id", gr.node.ID, "push_id", msg.PushID,
				"fallbacks", gr.fallbacks, "error", err)
			gr.unreachable = errors.Is(err, route.ErrUnreachable)
			for _, i := range gr.pos {
				results[i].Status = route.Failed
			}
			return
		}
		if gr.fallbacks > 0 {
			g.m.fallbacks.WithLabelValues("connector").Add(float64(gr.fallbacks))
		}
		for k, i := range gr.pos {
			results[i] = res[k]
		}
	}
	if len(groups) == 1 {
		// One connector, as for every push to one device: no goroutine,
		// whose new stack would grow on the way into the store.
		for _, gr := range groups {
			deliver(gr)
		}
	} else {
		var wg sync.WaitGroup
		for _, gr := range groups {
			wg.Go(func() { deliver(gr) })
		}
		wg.Wait()
	}
	for _, gr := range groups {
		if gr.unreachable {
			g.down.mark(gr.node.ID, time.Now())
		}
	}
}

// Waits between the gateway's own appends while the store fails.
const (
	storeRetryFirst = 500 * time.Millisecond
	storeRetryMax   = 4 * time.Second
)

// untilStored runs stored, one of the gateway's own appends, until it
// reports success: again 0.5 s later and then at doubling waits up to 4 s,
// while ctx lasts. It reports whether it gave up because the gateway
// began to stop.
func (g *Gateway) untilStored(ctx context.Context, stored func() bool) (stopping bool) {
	for wait := storeRetryFirst; !stored(); wait = min(2*wait, storeRetryMax) {
		select {
		case <-ctx.Done():
			return false
		case <-g.stopping:
			return true
		case <-time.After(wait):
		}
	}
	return false
}

// storeLeft appends msg to the streams of the targets at positions todo,
// which no connector took (every attempt failed or was refused), so that
// nothing accepted is lost: each device gets the message when it next
// catches up, and its vendor fallback at once, as for an offline device. A
// failed attempt may have appended it: streams that hold it already are
// left as they are. It returns the positions it could not store.
func (g *Gateway) storeLeft(ctx context.Context, msg store.Message, targets []string, todo []int, results []route.Result) []int {
	entries := make([]store.Entry, len(todo))
	pos := slices.Clone(todo)
	for k, i := range todo {
		entries[k] = store.Entry{DeviceID: targets[i], Message: msg}
	}
	had, found, err := store.FindAppended(ctx, g.store, entries)
	if err != nil {
		g.log.WarnContext(ctx, "read streams of devices no connector took failed", "push_id", msg.PushID,
			"devices", len(entries), "error", err)
		return todo
	}
	keep, keepPos := entries[:0], pos[:0]
	for k, e := range entries {
		if found[k] {
			results[pos[k]] = route.Result{Status: route.Offline, Epoch: had[k].Epoch, Seq: had[k].Seq}
			continue
		}
		keep, keepPos = append(keep, e), append(keepPos, pos[k])
	}
	entries, pos = keep, keepPos
	if len(entries) == 0 {
		g.announceStored(ctx, msg, targets, todo, results)
		return nil
	}
	ps, err := g.store.Append(ctx, entries)
	if err != nil {
		g.log.WarnContext(ctx, "append for devices no connector took failed", "push_id", msg.PushID,
			"devices", len(entries), "error", err)
		return pos
	}
	for k, i := range pos {
		results[i] = route.Result{Status: route.Offline, Epoch: ps[k].Epoch, Seq: ps[k].Seq}
	}
	g.m.fallbacks.WithLabelValues("store").Add(float64(len(entries)))
	g.announceStored(ctx, msg, targets, todo, results)
	return nil
}

// announceStored tells the connectors where the gateway's own appends put
// msg for the targets at positions todo: a device whose connector could
// not be reached (a partition, a refusal) may still hold a live session
// there.
func (g *Gateway) announceStored(ctx context.Context, msg store.Message, targets []string, todo []int, results []route.Result) {
	if g.announce == nil {
		return
	}
	a := route.Appended{Message: msg, Devices: make([]route.AppendedAt, 0, len(todo))}
	for _, i := range todo {
		r := results[i]
		a.Devices = append(a.Devices, route.AppendedAt{DeviceID: targets[i], Epoch: r.Epoch, Seq: r.Seq})
	}
	g.announce.Announce(ctx, a)
}
