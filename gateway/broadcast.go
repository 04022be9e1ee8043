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
// resumed says p was routed before, by a gateway that stopped or crashed
// before it finished: its message may be in the stream already.
func (g *Gateway) routeBroadcast(ctx context.Context, p *store.Push, resumed bool) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.RouteTimeout)
	defer cancel()
	msg := store.Message{
		PushID: p.ID, Title: p.Notification.Title, Body: p.Notification.Body,
		Data: p.Notification.Data, SentAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
	}
	pos, err := g.appendBroadcast(ctx, p.AppID, msg, resumed)
	if err != nil {
		g.log.ErrorContext(ctx, "append broadcast failed; the push stays pending", "push_id", p.ID, "error", err)
		return
	}
	msg.Seq = pos.Seq
	b := route.Broadcast{AppID: p.AppID, Message: msg, Epoch: pos.Epoch}
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

// appendBroadcast appends msg to the app's broadcast stream. While the
// store fails (a shard restarting) it tries again, 0.5 s later and then at
// doubling waits up to 4 s, as routing does for the devices no connector
// took, until ctx ends or the gateway stops. An attempt that failed may
// have appended it, and so may an earlier routing when resumed: those look
// for it in the stream first.
func (g *Gateway) appendBroadcast(ctx context.Context, appID string, msg store.Message, resumed bool) (store.Position, error) {
	entries := []store.Entry{{DeviceID: store.BroadcastStream(appID), Message: msg}}
	var (
		pos  store.Position
		err  error
		look = resumed
	)
	g.untilStored(ctx, func() bool {
		if pos, err = g.appendOnce(ctx, entries, look); err != nil {
			g.log.WarnContext(ctx, "append broadcast failed; trying again", "push_id", msg.PushID, "error", err)
			look = true
		}
		return err == nil
	})
	return pos, err
}

// appendOnce appends entries' one message, or, with look, returns where
// the stream holds it already.
func (g *Gateway) appendOnce(ctx context.Context, entries []store.Entry, look bool) (store.Position, error) {
	if look {
		had, found, err := store.FindAppended(ctx, g.store, entries)
		if err != nil {
			return store.Position{}, err
		}
		if found[0] {
			return had[0], nil
		}
	}
	pos, err := g.store.Append(ctx, entries)
	if err != nil {
		return store.Position{}, err
	}
	return pos[0], nil
}
