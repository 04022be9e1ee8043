package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mopush/mopush/connector"
	"github.com/mopush/mopush/dispatcher"
	"github.com/mopush/mopush/gateway"
	"github.com/mopush/mopush/internal/bus"
	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/relay/engine"
	"github.com/mopush/mopush/relay/vendors"
	"github.com/mopush/mopush/taskcontainer"
)

// Roles selects what a node runs. The zero value runs every role.
type Roles struct {
	Gateway    bool // REST API, routing, /v1/dispatch
	Connector  bool // device sessions
	Relay      bool // vendor relay workers
	Dispatcher bool // /v1/dispatch alone
}

// All reports whether every role runs (or none was chosen).
func (r Roles) All() bool {
	return r == Roles{} || (r.Gateway && r.Connector && r.Relay)
}

func (r Roles) normal() Roles {
	if r == (Roles{}) {
		return Roles{Gateway: true, Connector: true, Relay: true, Dispatcher: true}
	}
	return r
}

// Options shape a Node beyond the configuration.
type Options struct {
	// Roles to run; zero: all of them, as `mopush all` does.
	Roles Roles
	// Connectors is how many connectors run in the process (default 1).
	// The first serves on the main listener; each other one on its own
	// listener on the same host, port chosen by the system.
	Connectors int
	// InternalHTTP routes batches to connectors over HTTP/2 even when they
	// run in this process, as they would across machines.
	InternalHTTP bool
	Logger       *slog.Logger
	Registry     *prometheus.Registry
	// RelayEnv, when set, replaces the vendor environment built from the
	// configuration (tests point it at vendor fakes).
	RelayEnv *vendors.Env

	// storeFS, when set, is the embedded store's file system: power-cut
	// tests give it a memory one that drops what was never synced.
	storeFS vfs.FS
}

// Node is every role of mopush in one process.
type Node struct {
	cfg   config.Config
	opts  Options
	roles Roles
	log   *slog.Logger
	reg   *prometheus.Registry
	store store.Store
	bus   *bus.Bus

	members    *dispatcher.Membership
	gateway    *gateway.Gateway
	campaigns  *taskcontainer.Runner // nil without a gateway or a tag index
	relay      *engine.Engine        // nil when disabled
	vendors    *vendors.Registry     // nil when disabled
	tokens     *sharedTokens         // nil unless a relay on a clustered store
	connectors []*connectorUnit
	main       *http.Server
	mainLn     net.Listener
	adminToken string
	ready      atomic.Bool
}

// connectorUnit is one connector with its listener and ring registration.
type connectorUnit struct {
	c    *connector.Connector
	node dispatcher.Node
	ln   net.Listener
	srv  *http.Server // nil for the connector on the main listener
	reg  *dispatcher.Registration
}

// New opens the data directory, the store and the bus, and binds the
// listeners. Nothing is served until Run.
func New(cfg config.Config, opts Options) (n *Node, err error) {
	if opts.Connectors <= 0 {
		opts.Connectors = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	n = &Node{cfg: cfg, opts: opts, roles: opts.Roles.normal(), log: opts.Logger, reg: opts.Registry}
	if err := checkSplit(cfg, opts.Roles); err != nil {
		return nil, err
	}
	var closers []func()
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if n.adminToken, err = adminToken(cfg); err != nil {
		return nil, err
	}
	if n.store, err = openStore(context.Background(), cfg, opts.storeFS, n.log, n.reg); err != nil {
		return nil, err
	}
	// The closers must not read n: an error return sets the named result n
	// to nil before the deferred cleanup runs.
	st := n.store
	closers = append(closers, func() { st.Close() })
	if n.tokens, err = openSharedTokens(cfg, n.roles, n.log, n.reg); err != nil {
		return nil, err
	}
	if n.tokens != nil {
		closers = append(closers, n.tokens.rdb.Close)
	}
	busCfg := cfg.Bus
	if busCfg.URL == "" && busCfg.Dir == "" {
		busCfg.Dir = filepath.Join(cfg.Server.DataDir, "nats")
	}
	if n.bus, err = bus.Open(busCfg, n.log); err != nil {
		return nil, err
	}
	closers = append(closers, n.bus.Close)
	if n.mainLn, err = listen(cfg.Server.Listen); err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Server.Listen, err)
	}
	ln := n.mainLn
	closers = append(closers, func() { ln.Close() })
	if err := n.build(); err != nil {
		for _, u := range n.connectors {
			if u.srv != nil {
				u.ln.Close()
			}
		}
		return nil, err
	}
	return n, nil
}

// adminToken returns the configured admin token, or the one saved in the
// data directory, creating it at first start.
func adminToken(cfg config.Config) (string, error) {
	return dataSecret(cfg.Gateway.AdminToken, AdminTokenPath(cfg.Server.DataDir), "admin token")
}

// portalKey returns the configured key of the portal's session cookies, or
// the one saved in the data directory, creating it at first start.
func portalKey(cfg config.Config) (string, error) {
	return dataSecret(cfg.Portal.SessionKey, filepath.Join(cfg.Server.DataDir, "portal.key"), "portal key")
}

// dataSecret returns configured when set, else the secret kept in the file
// at path, which it creates with a new random secret when it is missing.
func dataSecret(configured, path, what string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	tok := ids.Token(24)
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", what, err)
	}
	return tok, nil
}

// AdminTokenPath is where a node keeps its generated admin token.
func AdminTokenPath(dataDir string) string { return filepath.Join(dataDir, "admin.token") }

// build creates the roles and wires them to the listeners.
func (n *Node) build() error {
	dm, err := dispatcher.NewMetrics(n.reg)
	if err != nil {
		return err
	}
	n.members = dispatcher.NewMembership(n.bus.JS, dispatcher.MembershipConfig{}, n.log, dm)
	internalToken := n.cfg.Server.InternalToken
	if internalToken == "" {
		internalToken = ids.Token(24) // one process: nobody else needs it
	}
	local := map[string]*connector.Connector{}
	mainMux := http.NewServeMux()
	if n.roles.Connector {
		for i := range n.opts.Connectors {
			u, err := n.newConnector(i, mainMux, internalToken)
			if err != nil {
				return err
			}
			n.connectors = append(n.connectors, u)
			local[u.node.ID] = u.c
		}
	}
	if !n.cfg.Relay.Disabled && (n.roles.Gateway || n.roles.Relay) {
		if err := n.buildRelay(); err != nil {
			return err
		}
	}
	if n.roles.Gateway {
		del := &deliverer{remote: &route.Client{HTTP: httpx.NewH2CClient(internalCallTimeout), Token: internalToken}}
		if !n.opts.InternalHTTP {
			del.local = local
		}
		gcfg := n.cfg.Gateway
		gcfg.AdminToken = n.adminToken
		gopts := []gateway.Option{gateway.WithAnnouncer(announcer{nc: n.bus.Conn, log: n.log})}
		if n.vendors != nil {
			q := relayq.NewCoalescer(&relayq.Publisher{JS: n.bus.JS}, n.cfg.Relay.BatchWindow)
			if cw, ok := n.store.(cachedWatermarks); ok {
				q.HoldSettled(settleHold, ackedIn(cw))
			}
			gopts = append(gopts, gateway.WithRelay(gateway.Relay{
				Queue:       q,
				Credentials: n.vendors,
				AckTimeout:  n.cfg.Relay.AckTimeout,
			}))
		}
		n.gateway = gateway.New(gcfg, n.store, n.members, del, n.log, n.reg, gopts...)
		n.gateway.Register(mainMux)
		if err := n.buildPortal(mainMux); err != nil {
			return err
		}
	}
	if n.roles.Gateway || n.roles.Dispatcher {
		var dopts []dispatcher.HandlerOption
		if n.gateway != nil {
			// Devices dial a connector the gateway found down last.
			dopts = append(dopts, dispatcher.WithDown(n.gateway.Down))
		}
		mainMux.Handle("/v1/dispatch", dispatcher.Handler(n.members, 0, n.log, dm, dopts...))
	}
	mainMux.Handle("/", httpx.NotFound())
	mainMux.Handle("GET /metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{Registry: n.reg}))
	mainMux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mainMux.HandleFunc("GET /readyz", n.readyz)
	n.main = httpx.NewServer(mainMux)
	return nil
}

func (n *Node) newConnector(i int, mainMux *http.ServeMux, token string) (*connectorUnit, error) {
	ccfg := n.cfg.Connector
	ccfg.NodeID = fmt.Sprintf("%s-%d", n.nodePrefix(), i+1)
	u := &connectorUnit{}
	mux := mainMux
	u.ln = n.mainLn
	if i > 0 {
		host, _, _ := net.SplitHostPort(n.mainLn.Addr().String())
		ln, err := listen(net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("listen for connector %d: %w", i+1, err)
		}
		u.ln = ln
		mux = http.NewServeMux()
		u.srv = httpx.NewServer(mux)
	}
	owns := func(id string) bool {
		o, ok := n.members.Ring().Owner(id)
		return ok && o.ID == ccfg.NodeID
	}
	reg := prometheus.WrapRegistererWith(prometheus.Labels{"node_id": ccfg.NodeID}, n.reg)
	u.c = connector.New(ccfg, n.store, owns, n.log, reg)
	base := n.baseURL(u.ln)
	u.node = dispatcher.Node{ID: ccfg.NodeID, WSURL: wsURL(base) + connector.Path, InternalURL: base, Weight: 1}
	mux.Handle("GET "+connector.Path, u.c)
	mux.Handle("POST "+route.Path, route.Handler(u.c, token, n.log))
	mux.Handle("POST "+route.BroadcastPath, route.BroadcastHandler(u.c, token, n.log))
	mux.Handle("POST "+route.DisconnectPath, route.DisconnectHandler(u.c, token, n.log))
	if i > 0 {
		mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	}
	u.reg = dispatcher.NewRegistration(n.bus.JS, u.node, 0, n.log)
	return u, nil
}

// nodePrefix names this process's connectors on the ring: the configured
// id, or, when roles run apart, one made of the host name and the port
// (unique per process), or "connector".
func (n *Node) nodePrefix() string {
	if id := n.cfg.Connector.NodeID; id != "" {
		return id
	}
	if n.opts.Roles.All() {
		return "connector"
	}
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(n.mainLn.Addr().String())
	return strings.NewReplacer(".", "_", ":", "_").Replace(host) + "-" + port
}

// listen opens a TCP listener whose accepted connections get no kernel
// keepalive probes. A device session that sends nothing for two heartbeats
// is closed, and an idle REST connection after the server's IdleTimeout,
// so the probes would find nothing those miss, and switching them on
// costs four setsockopt calls for every accepted connection (3% of the
// server's CPU samples while 18,000 devices connect).
func listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp", addr)
}

// baseURL is the http URL a listener is reached at: PublicURL for the main
// listener when configured, else its address.
func (n *Node) baseURL(ln net.Listener) string {
	if ln == n.mainLn && n.cfg.Server.PublicURL != "" {
		return strings.TrimRight(n.cfg.Server.PublicURL, "/")
	}
	return "http://" + ln.Addr().String()
}

func wsURL(base string) string {
	if s, ok := strings.CutPrefix(base, "https://"); ok {
		return "wss://" + s
	}
	return "ws://" + strings.TrimPrefix(base, "http://")
}

// URL is the base URL of the main listener.
func (n *Node) URL() string { return n.baseURL(n.mainLn) }

// AdminToken is the admin API token in force.
func (n *Node) AdminToken() string { return n.adminToken }

// Connectors returns the connectors, for tests and the bench.
func (n *Node) Connectors() []*connector.Connector {
	out := make([]*connector.Connector, len(n.connectors))
	for i, u := range n.connectors {
		out[i] = u.c
	}
	return out
}

func (n *Node) readyz(w http.ResponseWriter, _ *http.Request) {
	if !n.ready.Load() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n")) //nolint:errcheck // client gone
}

// Ready reports whether the node serves pushes: every connector is on the
// ring.
func (n *Node) Ready() bool { return n.ready.Load() }

// internalCallTimeout bounds one call to a connector. A batch takes
// milliseconds; a connector that has not answered in 10 s counts as
// unreachable (route.ErrUnreachable), and its devices go to the next ring
// node, well within the push's gateway.route_timeout (30 s).
const internalCallTimeout = 10 * time.Second

// settleHold is how long the gateway holds the fallback checks of devices
// it wrote a push to (due after the ack timeout), so that the checks of
// those that acknowledge meanwhile are never queued.
const settleHold = time.Second

// cachedWatermarks is a store that keeps the watermarks it moved lately in
// memory: the embedded one, which the connectors of this process write.
type cachedWatermarks interface {
	CachedWatermark(deviceID string, mark store.Mark) (uint64, bool)
}

// ackedIn reports whether a fallback job's device acknowledged its message,
// by the ack watermark cw holds in memory. A watermark it does not hold
// counts as no acknowledgement: the job is queued and checked as before.
func ackedIn(cw cachedWatermarks) func(relayq.Job) bool {
	return func(j relayq.Job) bool {
		if j.Seq == 0 {
			return false
		}
		acked, ok := cw.CachedWatermark(j.DeviceID, store.MarkAcked)
		return ok && acked >= j.Seq
	}
}

// deliverer calls in-process connectors directly and others over HTTP/2.
type deliverer struct {
	local  map[string]*connector.Connector
	remote *route.Client
}

func (d *deliverer) Broadcast(ctx context.Context, node dispatcher.Node, b route.Broadcast) (route.BroadcastResult, error) {
	if l, ok := d.local[node.ID]; ok {
		return l.Broadcast(ctx, b)
	}
	return d.remote.Broadcast(ctx, node.InternalURL, b)
}

func (d *deliverer) Disconnect(ctx context.Context, node dispatcher.Node, x route.Disconnect) (route.DisconnectResult, error) {
	if l, ok := d.local[node.ID]; ok {
		return l.Disconnect(ctx, x)
	}
	return d.remote.Disconnect(ctx, node.InternalURL, x)
}

func (d *deliverer) Deliver(ctx context.Context, node dispatcher.Node, b route.Batch) ([]route.Result, error) {
	if l, ok := d.local[node.ID]; ok {
		return l.Deliver(ctx, b)
	}
	return d.remote.Deliver(ctx, node.InternalURL, b)
}

var _ gateway.Deliverer = (*deliverer)(nil)

// waitGroup runs functions and collects the first error.
type waitGroup struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

func (g *waitGroup) Go(name string, f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.once.Do(func() { g.err = fmt.Errorf("%s: %w", name, err) })
		}
	})
}

func (g *waitGroup) Wait() error {
	g.wg.Wait()
	return g.err
}
