package node

import (
	"fmt"
	"net"
	"net/http"

	"github.com/mopush/mopush/portal"
)

// buildPortal serves the portal beside the gateway. It calls the gateway
// over HTTP: at portal.gateway_url when configured, else on this node's
// own listener.
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
	p, err := portal.New(pcfg, n.store, n.adminToken, n.log, n.reg)
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	p.Register(mux)
	return nil
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
