package node

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/portal"
	"github.com/mopush/mopush/taskcontainer"
)

// buildPortal serves the portal beside the gateway, and runs campaigns
// when the store has a tag index. Both call the gateway over HTTP: at
// portal.gateway_url when configured, else on this node's own listener.
func (n *Node) buildPortal(mux *http.ServeMux) error {
	pcfg := n.cfg.Portal
	key, err := portalKey(n.cfg)
	if err != nil {
		return err
	}
	pcfg.SessionKey = key
	if pcfg.GatewayURL == "" {
		pcfg.GatewayURL = "http://" + loopback(n.mainLn.Addr())
	}
	var opts []portal.Option
	if st, ok := n.store.(campaignStore); ok {
		opts = append(opts, portal.WithCampaigns(st, taskcontainer.Publisher{JS: n.bus.JS}))
		pusher := &taskcontainer.HTTPPusher{API: &httpx.AdminClient{
			Base: pcfg.GatewayURL, Token: n.adminToken, HTTP: httpx.NewH2CClient(internalCallTimeout)}}
		n.campaigns = taskcontainer.New(n.cfg.Campaigns, n.bus.JS, st, pusher, n.log, n.reg)
	}
	p, err := portal.New(pcfg, n.store, n.adminToken, n.log, n.reg, opts...)
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	p.Register(mux)
	return nil
}

// campaignStore is a store that keeps and runs campaigns: one with a tag
// index (not Aerospike's).
type campaignStore interface {
	store.Store
	store.TagIndex
}

// runCampaigns runs the campaign runner, if this node has one, until ctx
// ends.
func (n *Node) runCampaigns(ctx context.Context) error {
	if n.campaigns == nil {
		return nil
	}
	return n.campaigns.Run(ctx)
}

// loopback is the address to reach a listener from its own host: an
// unspecified address (listening on every interface) becomes the loopback
// one.
func loopback(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	ip := net.IPv4(127, 0, 0, 1)
	if tcp.IP.To4() == nil {
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}
