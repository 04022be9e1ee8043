package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/dispatcher"
	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
)

// Store is the part of the data layer the gateway uses.
type Store interface {
	store.Apps
	PutDevice(ctx context.Context, d *store.Device) error
	UpdateDevice(ctx context.Context, id string, change func(*store.Device) bool) (*store.Device, error)
	DeleteDevice(ctx context.Context, id string) error
	Devices(ctx context.Context, ids []string) ([]*store.Device, error)
	DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error)
	store.Pushes
	ReadStream(ctx context.Context, deviceID string, epoch, since uint64, limit int) (store.Page, error)
	Append(ctx context.Context, entries []store.Entry) ([]store.Position, error)
	Advance(ctx context.Context, deviceID string, mark store.Mark, through uint64) ([]store.Message, error)
	SetOutcome(ctx context.Context, deviceID string, seq uint64, o store.Outcome) (store.Outcome, bool, error)
	store.Credentials
}

// Deliverer hands a batch to the connector that owns its devices: in
// process for `mopush all`, over HTTP/2 when roles run apart.
type Deliverer interface {
	Deliver(ctx context.Context, node dispatcher.Node, b route.Batch) ([]route.Result, error)
	Broadcast(ctx context.Context, node dispatcher.Node, b route.Broadcast) (route.BroadcastResult, error)
	Disconnect(ctx context.Context, node dispatcher.Node, d route.Disconnect) (route.DisconnectResult, error)
}

// Gateway serves the REST API.
type Gateway struct {
	cfg     Config
	store   Store
	ring    dispatcher.RingSource
	deliver Deliverer
	log     *slog.Logger
	m       *metrics

	// routing holds the goroutines that route accepted pushes; jobs feeds
	// them. Run owns both.
	jobs    chan routeJob
	routing sync.WaitGroup
	// queued holds the ids in jobs or being routed, so the pending sweep
	// does not route a push twice at once.
	queued sync.Map

	relay Relay
	apps  *appCache
	// owners keeps the app of each device seen, for checkDevices.
	owners *owners
	// down holds the connectors that could not be reached lately.
	down *downNodes
	// stopping is closed when Run is asked to stop (nil before Run):
	// routing then gives up waiting on the store and leaves the push
	// pending for the next start.
	stopping <-chan struct{}
	// sums holds the counts of acknowledgements made over HTTP until Run
	// writes them, and keeps those the store refuses.
	sums *outcome.Sums
	// announce tells the connectors about messages the gateway appended
	// itself (nil: nobody is told).
	announce Announcer
	// now is the clock of send times (time.Now; tests move it).
	now func() time.Time
	// limits bounds each app's push requests (its push_rate_per_second).
	limits *pushLimits
	// sleep paces paced pushes (timerSleep; tests replace it).
	sleep func(ctx context.Context, d time.Duration) bool
}

// Announcer tells every connector about a message the gateway appended to
// devices' streams itself, so that one holding a live session of such a
// device writes it there (route.AppendedSubject).
type Announcer interface {
	Announce(ctx context.Context, a route.Appended)
}

// WithAnnouncer has the gateway announce the messages it appends itself.
func WithAnnouncer(a Announcer) Option {
	return func(g *Gateway) { g.announce = a }
}

// New returns a gateway. log and reg may be nil.
func New(cfg Config, st Store, ring dispatcher.RingSource, d Deliverer, log *slog.Logger, reg prometheus.Registerer, opts ...Option) *Gateway {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		cfg:     cfg,
		store:   st,
		ring:    ring,
		deliver: d,
		log:     log.With("component", "gateway"),
		m:       newMetrics(reg),
		jobs:    make(chan routeJob, 4096),
		apps:    newAppCache(cfg.AppCacheTTL),
		owners:  newOwners(maxOwners),
		down:    newDownNodes(),
		now:     time.Now,
		limits:  newPushLimits(),
	}
	g.sleep = g.timerSleep
	g.sums = outcome.NewSums(st, g.log, g.m.countsDropped)
	for _, o := range opts {
		o(g)
	}
	return g
}

// Router is where the gateway's routes go: an *http.ServeMux, or a test's
// list of them.
type Router interface {
	Handle(pattern string, handler http.Handler)
}

// Register adds the gateway's routes to mux.
func (g *Gateway) Register(mux Router) {
	h := func(name string, f httpx.HandlerFunc) http.Handler {
		return httpx.Handle(g.log, func(slug string) { g.m.problems.WithLabelValues(slug).Inc() },
			func(w http.ResponseWriter, r *http.Request) error {
				g.m.requests.WithLabelValues(name).Inc()
				return f(w, r)
			})
	}
	mux.Handle("POST /v1/apps", h("create_app", g.createApp))
	mux.Handle("GET /v1/apps", h("list_apps", g.listApps))
	mux.Handle("GET /v1/apps/{id}", h("get_app", g.getApp))
	mux.Handle("POST /v1/devices", h("register_device", g.registerDevice))
	mux.Handle("GET /v1/devices", h("list_devices", g.listDevices))
	mux.Handle("GET /v1/devices/{id}", h("get_device", g.getDevice))
	mux.Handle("PATCH /v1/devices/{id}", h("update_device", g.updateDevice))
	mux.Handle("DELETE /v1/devices/{id}", h("delete_device", g.deleteDevice))
	mux.Handle("POST /v1/pushes", h("create_push", g.createPush))
	mux.Handle("GET /v1/pushes", h("list_pushes", g.listPushes))
	mux.Handle("GET /v1/pushes/{id}", h("get_push", g.getPush))
	mux.Handle("DELETE /v1/pushes/{id}", h("cancel_push", g.cancelPush))
	mux.Handle("PUT /v1/apps/{id}/settings", h("put_settings", g.putSettings))
	mux.Handle("GET /v1/apps/{id}/credentials", h("list_credentials", g.listCredentials))
	mux.Handle("PUT /v1/apps/{id}/credentials/{vendor}", h("put_credential", g.putCredential))
	mux.Handle("DELETE /v1/apps/{id}/credentials/{vendor}", h("delete_credential", g.deleteCredential))
	mux.Handle("GET /v1/devices/{id}/messages", h("list_messages", g.listMessages))
	mux.Handle("POST /v1/devices/{id}/acks", h("ack_messages", g.ackMessages))
	mux.Handle("POST /v1/devices/{id}/engagements", h("report_engagement", g.reportEngagement))
}

// Run routes accepted pushes until ctx ends: first those left pending by
// an earlier run, then each new one. On return every started routing has
// finished.
func (g *Gateway) Run(ctx context.Context) error {
	const workers = 64
	g.stopping = ctx.Done()
	for range workers {
		g.routing.Add(1)
		go func() {
			defer g.routing.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case job := <-g.jobs:
					// The push stays queued, and Run waits for it, until
					// it is finished or left pending.
					g.routing.Add(1)
					g.routeJob(context.WithoutCancel(ctx), job, func() {
						g.queued.Delete(job.id)
						g.routing.Done()
					})
				}
			}
		}()
	}
	g.resumePending(ctx, 0)
	g.startDue(ctx)
	t := time.NewTicker(g.cfg.ResumeInterval)
	defer t.Stop()
	due := time.NewTicker(g.cfg.ScheduleInterval)
	defer due.Stop()
	flush := time.NewTicker(countFlushInterval)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			// Fallback checks held to share a message go out now, so
			// that their pushes finish without waiting out the hold.
			if q, ok := g.relay.Queue.(interface{ Close() }); ok {
				q.Close()
			}
			g.routing.Wait()
			g.sums.FlushFinal(context.WithoutCancel(ctx), outcome.FinalFlushBudget, countFlushInterval)
			return nil
		case <-t.C:
			g.resumePending(ctx, g.cfg.RouteTimeout+sweepMargin)
		case <-due.C:
			g.startDue(ctx)
		case <-flush.C:
			g.sums.Flush(ctx)
		}
	}
}

// enqueue hands a push to the routing workers unless it is queued already;
// false when the queue is full (the push stays pending for the next sweep).
func (g *Gateway) enqueue(job routeJob) bool {
	if _, dup := g.queued.LoadOrStore(job.id, true); dup {
		return true
	}
	select {
	case g.jobs <- job:
		return true
	default:
		g.queued.Delete(job.id)
		return false
	}
}

// sweepMargin is how much older than the route's timeout a pending push
// must be before a periodic sweep routes it: its own gateway has finished
// or given up on it by then, unless that gateway is gone.
const sweepMargin = 5 * time.Second

// resumePending re-routes pushes that were accepted but not finished and
// are at least minAge old. The sweep at start takes every one (minAge 0)
// that no gateway holds a routing lease on: they were left by an earlier
// run. A periodic sweep leaves the younger ones alone: with several
// gateways on one store, another gateway may be routing them right now,
// and routing them twice at once would append them twice.
func (g *Gateway) resumePending(ctx context.Context, minAge time.Duration) {
	pending, err := g.store.PendingPushes(ctx, 100000)
	if err != nil {
		g.log.ErrorContext(ctx, "list pending pushes failed", "error", err)
		return
	}
	cutoff := time.Now().Add(-minAge)
	n := 0
	for _, id := range pending {
		if at, ok := ids.Time(id); ok && minAge > 0 && at.After(cutoff) {
			continue
		}
		if minAge > 0 && g.startedSince(ctx, id, cutoff) || g.leased(ctx, id) {
			continue
		}
		if !g.enqueue(routeJob{id: id}) || ctx.Err() != nil {
			break // full: the next sweep continues
		}
		n++
	}
	if n > 0 {
		g.log.InfoContext(ctx, "resuming pending pushes", "count", n)
	}
}

// startedSince tells whether a pending push is a scheduled one whose send
// time is after cutoff: a gateway began to route it lately, whatever its
// id's age says. A push that cannot be read is left to the next sweep.
func (g *Gateway) startedSince(ctx context.Context, id string, cutoff time.Time) bool {
	p, err := g.store.Push(ctx, id)
	return err != nil || p.SendAt.After(cutoff)
}

// leased tells whether a pending push's routing lease runs: another
// gateway routes it page after page (a push to tags), however old it is.
// Sweeps, the one at start included, leave it alone; a lease that cannot
// be read counts as running, until the next sweep.
func (g *Gateway) leased(ctx context.Context, id string) bool {
	l, ok := g.store.(store.RoutingLeases)
	if !ok {
		return false
	}
	until, err := l.PushLease(ctx, id)
	return err != nil || until.After(time.Now())
}

// countFlushInterval is how often the counts of HTTP acknowledgements are
// written.
const countFlushInterval = 100 * time.Millisecond
