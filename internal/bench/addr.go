package bench

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// MaxSourceAddrs is how many source addresses devices can rotate through:
// 127.0.0.1 … 127.0.0.254.
const MaxSourceAddrs = 254

// sourceIP is the source address of the device with the given global
// index: devices rotate through 127.0.0.1 … 127.0.0.n.
func sourceIP(index, n int) net.IP {
	return net.IPv4(127, 0, 0, byte(1+index%max(1, min(n, MaxSourceAddrs))))
}

// serverPort checks that a server URL is http on 127.0.0.0/8 (or
// localhost) and returns its port.
func serverPort(raw string) (int, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return 0, fmt.Errorf("server url: %w", err)
	}
	if u.Scheme != "http" {
		return 0, fmt.Errorf("server url %q: want http://127.x.x.x:port", raw)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || ip.To4() == nil || ip.To4()[0] != 127) {
		return 0, fmt.Errorf("server %q: %w", raw, ErrNotLoopback)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port <= 0 || port > 65535 {
		return 0, fmt.Errorf("server url %q: needs an explicit port", raw)
	}
	return port, nil
}

// gate holds new connections while closed: dials wait until it opens or
// their context ends. The bench closes it to keep devices offline during
// an outage and opens it to let them all reconnect at once. Safe for
// concurrent use.
type gate struct {
	mu   sync.Mutex
	open chan struct{} // closed while the gate is open
}

func newGate() *gate {
	ch := make(chan struct{})
	close(ch)
	return &gate{open: ch}
}

func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
	default: // already held
	}
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

func (g *gate) wait(ctx context.Context) error {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dialFrom returns a dial function that waits at the gate, then connects
// from the source address src. Its connections have no kernel keepalive,
// like the SDK's own (sessions have heartbeats): enabling it is three more
// system calls per connection.
func dialFrom(g *gate, src net.IP) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second, KeepAlive: -1}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := g.wait(ctx); err != nil {
			return nil, err
		}
		return d.DialContext(ctx, network, addr)
	}
}
