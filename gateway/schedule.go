package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

// dueBatch is how many scheduled pushes one look at the store starts.
const dueBatch = 256

// startDue routes the scheduled pushes whose send time came. Each is moved
// to pending first (EndSchedule): of several gateways on one store, the
// one that moves it routes it, and a push cancelled meanwhile is never
// moved. A push moved but not routed (a full queue, a crash) is pending,
// and the pending sweep routes it.
func (g *Gateway) startDue(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := g.store.DuePushes(ctx, g.now(), dueBatch)
		if err != nil {
			g.log.ErrorContext(ctx, "list due pushes failed", "error", err)
			return
		}
		moved := 0
		for _, id := range due {
			ok, err := g.store.EndSchedule(ctx, id, store.PushPending)
			if err != nil {
				g.log.ErrorContext(ctx, "start scheduled push failed", "push_id", id, "error", err)
				continue
			}
			if !ok {
				continue // started by another gateway, or cancelled
			}
			moved++
			g.m.started.Inc()
			if !g.enqueue(routeJob{id: id, scheduled: true}) {
				g.log.WarnContext(ctx, "routing queue full", "push_id", id)
				return // pending: the sweep routes it
			}
		}
		if len(due) < dueBatch || moved == 0 {
			return
		}
	}
}

// cancelPush cancels a scheduled push before its send time.
func (g *Gateway) cancelPush(w http.ResponseWriter, r *http.Request) error {
	app, err := g.authApp(r)
	if err != nil {
		return err
	}
	ctx, id := r.Context(), r.PathValue("id")
	p, err := g.store.Push(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.AppID != app.ID) {
		return errNotFound("push")
	}
	if err != nil {
		return fmt.Errorf("load push: %w", err)
	}
	moved, err := g.store.EndSchedule(ctx, id, store.PushCancelled)
	if err != nil {
		return fmt.Errorf("cancel push: %w", err)
	}
	if !moved {
		// Started meanwhile, or cancelled already (which DELETE repeats
		// without harm).
		if p, err = g.store.Push(ctx, id); err != nil {
			return fmt.Errorf("load push: %w", err)
		}
		if p.State != store.PushCancelled {
			e := httpx.Errorf(http.StatusConflict, "not-cancellable", "Push not cancellable",
				fmt.Sprintf("only a scheduled push can be cancelled; this one is %s", p.State))
			e.Extra = map[string]any{"state": p.State}
			return e
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
