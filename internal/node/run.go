package node

import (
	"context"
	"fmt"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/relayq"
)

// Run serves until ctx ends, then drains and closes everything it opened.
func (n *Node) Run(ctx context.Context) error {
	defer n.bus.Close()
	defer n.store.Close()
	grace := n.cfg.Server.ShutdownGrace.Duration
	rolesCtx, stopRoles := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRoles()

	var g waitGroup
	g.Go("membership", func() error { return n.members.Run(rolesCtx) })
	stopStore := n.runStore(ctx)
	defer stopStore() // after the roles: they use the store until the end
	stopTokens := n.runTokens(ctx)
	defer stopTokens() // after the relay, likewise
	connCtx, stopConns := context.WithCancel(rolesCtx)
	defer stopConns()
	mainLn := n.mainLn
	for _, u := range n.connectors {
		g.Go("connector "+u.node.ID, func() error { return u.c.Run(connCtx) })
		g.Go("registration "+u.node.ID, func() error { return u.reg.Run(connCtx) })
		// Device connects are read by the connector itself, the rest by
		// the HTTP server.
		if u.srv != nil {
			g.Go("listener "+u.node.ID, func() error { return httpx.Serve(connCtx, u.srv, u.c.Split(u.ln), grace) })
		} else {
			mainLn = u.c.Split(u.ln)
		}
	}
	g.Go("redirects", func() error { return n.followRing(connCtx) })
	if len(n.connectors) > 0 {
		g.Go("appended", func() error { return n.followAppended(connCtx) })
	}
	g.Go("http", func() error { return httpx.Serve(rolesCtx, n.main, mainLn, grace) })

	if err := n.start(ctx); err != nil {
		stopRoles()
		g.Wait() //nolint:errcheck // reporting the start failure
		return err
	}
	if n.vendors != nil {
		defer n.vendors.Close()
	}
	if n.relay != nil {
		g.Go("relay", func() error { return n.relay.Run(rolesCtx) })
	}
	gwCtx, stopGateway := context.WithCancel(rolesCtx)
	defer stopGateway()
	if n.gateway != nil {
		g.Go("gateway", func() error { return n.gateway.Run(gwCtx) })
		g.Go("campaigns", func() error { return n.runCampaigns(gwCtx) })
	}
	n.ready.Store(true)
	n.log.InfoContext(ctx, "node ready", "url", n.URL(), "connectors", len(n.connectors))

	<-ctx.Done()
	n.ready.Store(false)
	n.log.InfoContext(ctx, "draining")
	stopConns()   // devices are redirected; connectors leave the ring
	stopGateway() // routing in flight finishes
	stopRoles()   // listeners and membership stop
	return g.Wait()
}

// runStore runs the store's background work, if it has any, and returns
// the function that stops it and waits for it.
func (n *Node) runStore(ctx context.Context) func() {
	r, ok := n.store.(interface{ Run(context.Context) error })
	if !ok {
		return func() {}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(sctx); err != nil {
			n.log.Error("store stopped", "error", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// start waits for what the roles need before serving: the ring with every
// local connector on it, and the relay queue.
func (n *Node) start(ctx context.Context) error {
	if err := n.waitOnRing(ctx); err != nil {
		return err
	}
	if n.vendors != nil {
		if _, err := relayq.Ensure(ctx, n.bus.JS); err != nil {
			return err
		}
	}
	return nil
}

// waitOnRing waits until every local connector is on the ring.
func (n *Node) waitOnRing(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := n.members.WaitReady(ctx); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	changes := n.members.Changes()
	for {
		ring := n.members.Ring()
		missing := 0
		for _, u := range n.connectors {
			if _, ok := ring.Node(u.node.ID); !ok {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d connectors not on the ring: %w", missing, ctx.Err())
		case <-changes:
		}
	}
}

// followRing redirects devices whose owner changed when the ring changes.
func (n *Node) followRing(ctx context.Context) error {
	changes := n.members.Changes()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
			for _, u := range n.connectors {
				if moved := u.c.Redirect(); moved > 0 {
					n.log.InfoContext(ctx, "redirected devices after ring change", "node_id", u.node.ID, "count", moved)
				}
			}
		}
	}
}
