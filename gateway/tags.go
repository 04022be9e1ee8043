package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// tagPage is how many devices of a tag audience are listed and routed at
// once.
const tagPage = 500

// maxTagRate bounds options.rate_per_second.
const maxTagRate = 100_000

// routeTags routes a push whose audience is tags: the devices that have
// one of them are listed from the store's tag index in pages, in id
// order, and each page is routed, with its vendor fallback checks, as a
// push to those devices is. The push is finished, with the devices it
// reached as targeted, once every page is routed and its checks stored.
// With a rate, the pages are that many devices at most and paced to
// it. Each page renews the push's routing lease, so that the sweeps of
// other gateways on the same store leave it alone however long it takes. Anything that stops it half way (the store, the relay's queue, a
// shutdown) leaves it pending: a later sweep routes it again from the
// first page, and connectors skip the streams that hold it already.
func (g *Gateway) routeTags(ctx context.Context, p *store.Push, settings *store.Settings, resumed bool) {
	ti, ok := g.store.(store.TagIndex)
	if !ok {
		g.log.ErrorContext(ctx, "tag push left pending: the store lists no devices by tag", "push_id", p.ID)
		return
	}
	if settings == nil {
		if app, err := g.store.AppByID(ctx, p.AppID); err == nil {
			settings = &app.Settings
		}
	}
	var (
		counts store.Counts
		checks sync.WaitGroup
		mu     sync.Mutex
		failed error // of the fallback checks
	)
	// Pages already routed wait for their checks even when a later one
	// stops the push, so that nothing is left running after routeTags.
	defer checks.Wait()
	size := tagPage
	if p.Rate > 0 {
		size = min(size, p.Rate)
	}
	start := g.now()
	after := ""
	for {
		if p.Rate > 0 && counts.Targeted > 0 {
			// Paced: page n goes no sooner than n*size/rate after the first.
			due := start.Add(time.Duration(counts.Targeted) * time.Second / time.Duration(p.Rate))
			if !g.sleep(ctx, due.Sub(g.now())) {
				g.log.WarnContext(ctx, "push left pending at shutdown", "push_id", p.ID)
				return
			}
		}
		g.lease(ctx, p.ID)
		page, err := ti.DeviceIDsByTags(ctx, p.AppID, p.Audience.Tags, after, size)
		if err != nil {
			g.log.ErrorContext(ctx, "list devices by tag failed; the push stays pending", "push_id", p.ID, "error", err)
			return
		}
		if len(page) == 0 {
			break
		}
		sub := *p
		sub.Targets = page
		c, results, stopped := g.route(ctx, &sub, func() {}, resumed)
		if stopped {
			g.log.WarnContext(ctx, "push left pending at shutdown", "push_id", p.ID)
			return
		}
		counts.Targeted += int64(len(page))
		counts.Offline += c.Offline
		counts.Failed += c.Failed
		checks.Add(1)
		g.schedule(ctx, &sub, settings, results, func(err error) {
			defer checks.Done()
			if err != nil {
				mu.Lock()
				failed = errors.Join(failed, err)
				mu.Unlock()
			}
		})
		if len(page) < size {
			break
		}
		after = page[len(page)-1]
	}
	checks.Wait()
	if failed != nil {
		g.log.ErrorContext(ctx, "schedule relay fallback failed; the push stays pending", "push_id", p.ID, "error", failed)
		return
	}
	if err := g.store.FinishPush(ctx, p.ID, counts); err != nil {
		g.log.ErrorContext(ctx, "finish push failed", "push_id", p.ID, "error", err)
	}
}

// timerSleep waits d, or less when the gateway begins to stop; it reports
// whether it waited the whole time.
func (g *Gateway) timerSleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-g.stopping:
		return false
	case <-ctx.Done():
		return false
	}
}

// lease renews the routing lease of push id, when the store keeps leases
// (several gateways share it): long enough for one page and the wait
// before the next. A failure is logged; the push is routed all the same.
func (g *Gateway) lease(ctx context.Context, id string) {
	l, ok := g.store.(store.RoutingLeases)
	if !ok {
		return
	}
	until := time.Now().Add(2*g.cfg.RouteTimeout + sweepMargin)
	if err := l.LeasePush(ctx, id, until); err != nil {
		g.log.WarnContext(ctx, "lease push failed", "push_id", id, "error", err)
	}
}
