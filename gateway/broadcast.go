package gateway

import (
	"context"
	"sync"

	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
)

// routeBroadcast appends an app-wide push once to the app's broadcast
// stream and asks every connector to write it to the app's sessions.
// Targeted counts the live sessions it reached; devices offline now get it
// from the broadcast stream when they reconnect (there is no vendor
// fallback for broadcasts).
func (g *Gateway) routeBroadcast(ctx context.Context, p *store.Push) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.RouteTimeout)
	defer cancel()
	msg := store.Message{
		PushID: p.ID, Title: p.Notification.Title, Body: p.Notification.Body,
		Data: p.Notification.Data, SentAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
	}
	pos, err := g.store.Append(ctx, []store.Entry{{DeviceID: store.BroadcastStream(p.AppID), Message: msg}})
	if err != nil {
		g.log.ErrorContext(ctx, "append broadcast failed; the push stays pending", "push_id", p.ID, "error", err)
		return
	}
	msg.Seq = pos[0].Seq
	b := route.Broadcast{AppID: p.AppID, Message: msg, Epoch: pos[0].Epoch}
	var (
		mu    sync.Mutex
		total store.Counts
		wg    sync.WaitGroup
	)
	for _, n := range g.ring.Ring().Nodes() {
		wg.Go(func() {
			res, err := g.deliver.Broadcast(ctx, n, b)
			if err != nil {
				g.log.WarnContext(ctx, "broadcast to connector failed", "node_id", n.ID, "push_id", p.ID, "error", err)
				return // its devices catch up from the stream when they reconnect
			}
			mu.Lock()
			total.Targeted += int64(res.Sessions)
			mu.Unlock()
		})
	}
	wg.Wait()
	g.m.deliveries.WithLabelValues("broadcast").Add(float64(total.Targeted))
	if err := g.store.FinishPush(ctx, p.ID, total); err != nil {
		g.log.ErrorContext(ctx, "finish push failed", "push_id", p.ID, "error", err)
	}
}
