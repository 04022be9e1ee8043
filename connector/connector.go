package connector

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/connector/internal/netpoll"
	"github.com/mopush/mopush/internal/capmap"
	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
)

// Store is the part of the data layer a connector uses.
type Store interface {
	Devices(ctx context.Context, ids []string) ([]*store.Device, error)
	Append(ctx context.Context, entries []store.Entry) ([]store.Position, error)
	ReadStream(ctx context.Context, deviceID string, epoch, since uint64, limit int) (store.Page, error)
	Advance(ctx context.Context, deviceID string, mark store.Mark, through uint64) ([]store.Message, error)
	AddCounts(ctx context.Context, pushID string, delta store.Counts) error
	SetOutcome(ctx context.Context, deviceID string, seq uint64, o store.Outcome) (store.Outcome, bool, error)
}

// EpochRenewer is implemented by a store whose streams can go back (Redis
// or Aerospike, which can come back without their newest writes): it moves
// such a stream to a new epoch, keeping its messages, and returns the
// stream's epoch after.
type EpochRenewer interface {
	RenewEpoch(ctx context.Context, deviceID string, epoch uint64) (uint64, error)
}

// Owner tells whether this connector owns a device on the current ring.
type Owner func(deviceID string) bool

// Connector serves device sessions and delivers batches to them.
type Connector struct {
	cfg     Config
	store   Store
	owns    Owner
	log     *slog.Logger
	m       *metrics
	hub     *hub
	poller  *netpoll.Poller // reads every session
	pollErr error           // why there is no poller

	mu       sync.Mutex
	draining bool
	wg       sync.WaitGroup // live session handlers

	sums *outcome.Sums // counts by push id, not yet written

	bcast    *bcastIndex
	order    *bcastOrder
	appender *appender
	writers  *writers

	// deleted holds the ids of devices deleted since the start (a device
	// id is never given again), for the sessions their handshakes under
	// way would start.
	deleted *capmap.Map[string, struct{}]
	// pushApps keeps the app of each push an open or a click named.
	pushApps *capmap.Map[string, string]
}

// maxDeleted bounds the deleted device ids a connector keeps.
const maxDeleted = 1 << 16

var (
	_ route.Local        = (*Connector)(nil)
	_ route.Broadcaster  = (*Connector)(nil)
	_ route.Disconnecter = (*Connector)(nil)
)

// New returns a connector. owns may be nil: the connector then owns every
// device. log and reg may be nil.
func New(cfg Config, st Store, owns Owner, log *slog.Logger, reg prometheus.Registerer) *Connector {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if owns == nil {
		owns = func(string) bool { return true }
	}
	c := &Connector{
		cfg:      cfg,
		store:    st,
		owns:     owns,
		log:      log.With("component", "connector", "node_id", cfg.NodeID),
		m:        newMetrics(reg),
		hub:      newHub(cfg.Shards),
		bcast:    newBcastIndex(),
		order:    newBcastOrder(broadcastOrderWait),
		writers:  newWriters(),
		deleted:  capmap.New[string, struct{}](maxDeleted),
		pushApps: capmap.New[string, string](maxPushApps),
	}
	c.sums = outcome.NewSums(st, c.log, c.m.countsDropped)
	c.appender = newAppender(st)
	c.poller, c.pollErr = netpoll.New(netpoll.Config{})
	if c.poller != nil && reg != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "push_connector_read_workers", Help: "Goroutines reading sessions; above the base count while handlers wait.",
		}, func() float64 { return float64(c.poller.Workers()) }))
	}
	if reg != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "push_connector_writers_started_total",
			Help: "Session writers started: for a Welcome, a catch-up, a pong or a close, or for frames a delivery did not write on its own goroutine.",
		}, func() float64 { return float64(c.writers.started.Load()) }))
	}
	return c
}

// NodeID returns the connector's ring id.
func (c *Connector) NodeID() string { return c.cfg.NodeID }

// Sessions returns the number of live sessions.
func (c *Connector) Sessions() int { return c.hub.count() }

// Run holds the connector's lifetime: sessions live under its context.
// When ctx ends, every session is redirected (paced by DrainDelay and
// DrainJitter) and closed with 4001; Run returns once they are gone.
func (c *Connector) Run(ctx context.Context) error {
	appendCtx, stopAppends := context.WithCancel(context.WithoutCancel(ctx))
	appendsDone := make(chan struct{})
	go func() {
		c.appender.run(appendCtx)
		close(appendsDone)
	}()
	defer func() {
		stopAppends()
		<-appendsDone
	}()
	c.runCounts(ctx)
	c.mu.Lock()
	c.draining = true
	c.mu.Unlock()
	c.hub.each(func(s *session) {
		s.redirect("", c.cfg.DrainDelay, c.cfg.DrainJitter, "shutdown")
		s.fail(sdkproto.CodeShutdown, "server shutting down")
	})
	c.wg.Wait()
	c.writers.close()
	c.sums.FlushFinal(context.WithoutCancel(ctx), outcome.FinalFlushBudget, countFlushInterval)
	if c.poller != nil {
		return c.poller.Close()
	}
	return nil
}

// Broadcast writes an app broadcast, already appended to the app's
// broadcast stream, to every live session of the app: the frame is encoded
// once and sealed per session by each session's writer. An app's
// broadcasts are offered one at a time, in stream order (bcastOrder).
func (c *Connector) Broadcast(ctx context.Context, b route.Broadcast) (route.BroadcastResult, error) {
	p := pushFrame(b.Message, b.Epoch)
	p.Broadcast = true
	frame, err := proto.Marshal(&pb.Frame{Body: &pb.Frame_Push{Push: p}})
	if err != nil {
		return route.BroadcastResult{}, fmt.Errorf("encode broadcast: %w", err)
	}
	c.bcast.record(b.AppID, b.Epoch, b.Message.Seq, b.Message.PushID)
	release := c.order.acquire(ctx, b.AppID, b.Epoch, b.Message.Seq)
	var res route.BroadcastResult
	queued := int64(0)
	var later []*session // written once every session has it
	c.hub.eachOfApp(b.AppID, func(s *session) {
		res.Sessions++
		switch s.offerBroadcast(b.Message.Seq, b.Epoch, frame, &later) {
		case offerQueued:
			queued++ // catch-up pages count their own deliveries
			res.Written++
		case offerLater:
			res.Written++
		}
	})
	release()
	writeOut(later)
	if queued > 0 {
		c.countMessages(ctx, []store.Message{b.Message}, store.Counts{Delivered: queued})
	}
	c.m.deliveries.WithLabelValues("broadcast").Add(float64(res.Written))
	return res, nil
}

// Disconnect ends the live sessions of deleted devices with code 4500
// (auth_failed), which tells the SDK the device is unknown now. It
// remembers the ids first, and a session checks them once it is
// registered (begin), so a handshake that read its device before the
// deletion cannot start a session that outlives it.
func (c *Connector) Disconnect(_ context.Context, d route.Disconnect) (route.DisconnectResult, error) {
	var res route.DisconnectResult
	for _, id := range d.DeviceIDs {
		c.deleted.Put(id, struct{}{})
		if s := c.hub.get(id); s != nil {
			s.fail(sdkproto.CodeAuthFailed, "device deleted")
			res.Closed++
		}
	}
	return res, nil
}

// Redirect asks every session whose device this connector no longer owns to
// reconnect through the dispatcher, paced by DrainDelay and DrainJitter;
// call it when the ring changes.
func (c *Connector) Redirect() int {
	n := 0
	c.hub.each(func(s *session) {
		if !c.owns(s.deviceID) {
			s.redirect("", c.cfg.DrainDelay, c.cfg.DrainJitter, "ring_change")
			s.fail(sdkproto.CodeRedirect, "device moved")
			n++
		}
	})
	return n
}

// Deliver appends b's message to each device's stream and writes it to the
// device's live session. Results are by position. A device this connector
// does not own is refused, unless b is a fallback (its owner is down).
func (c *Connector) Deliver(ctx context.Context, b route.Batch) ([]route.Result, error) {
	res := make([]route.Result, len(b.DeviceIDs))
	entries := make([]store.Entry, 0, len(b.DeviceIDs))
	idx := make([]int, 0, len(b.DeviceIDs))
	for i, id := range b.DeviceIDs {
		if !b.Fallback && !c.owns(id) {
			res[i].Status = route.Refused
			continue
		}
		entries = append(entries, store.Entry{DeviceID: id, Message: b.Message})
		idx = append(idx, i)
	}
	if b.Retry && len(entries) > 0 {
		var err error
		if entries, idx, err = c.skipAppended(ctx, entries, idx, res); err != nil {
			for _, i := range idx {
				res[i].Status = route.Failed
			}
			c.countOutcomes(res)
			return res, err
		}
	}
	if len(entries) > 0 {
		pos, err := c.appender.append(ctx, entries)
		if err != nil {
			for _, i := range idx {
				res[i].Status = route.Failed
			}
			c.countOutcomes(res)
			return res, fmt.Errorf("append %d messages: %w", len(entries), err)
		}
		var later []*session // written once every session has its frame
		for k, i := range idx {
			res[i] = c.offer(b.DeviceIDs[i], b.Message, pos[k], &later)
		}
		writeOut(later)
	}
	c.countOutcomes(res)
	return res, nil
}

// skipAppended takes out of entries (and idx, their positions in res)
// the messages their streams already hold, from an earlier attempt, and
// offers each at the position found to the device's live session here, if
// any: a session that has it already ignores it, one that does not (the
// copy was appended by another node) writes it or catches up to it.
func (c *Connector) skipAppended(ctx context.Context, entries []store.Entry, idx []int, res []route.Result) ([]store.Entry, []int, error) {
	pos, found, err := store.FindAppended(ctx, c.store, entries)
	if err != nil {
		return entries, idx, err
	}
	keep, keepIdx := entries[:0], idx[:0]
	var later []*session
	for k, e := range entries {
		if !found[k] {
			keep, keepIdx = append(keep, e), append(keepIdx, idx[k])
			continue
		}
		res[idx[k]] = c.offer(e.DeviceID, e.Message, pos[k], &later)
	}
	writeOut(later)
	c.m.repeats.Add(float64(len(entries) - len(keep)))
	return keep, keepIdx, nil
}

// Appended offers a message another node appended to devices' streams
// (route.AppendedSubject) to those devices' live sessions here: a session
// writes it when it is the next message of its stream, catches up from the
// stream when it is further on, and ignores it when it has it.
func (c *Connector) Appended(a route.Appended) {
	var later []*session
	n := 0
	for _, d := range a.Devices {
		if c.offer(d.DeviceID, a.Message, store.Position{Epoch: d.Epoch, Seq: d.Seq}, &later).Status == route.Written {
			n++
		}
	}
	writeOut(later)
	c.m.announced.Add(float64(n))
}

// offer hands an appended message to the device's live session, if any. A
// session whose writer must start is added to later (kickLockedLater).
func (c *Connector) offer(deviceID string, msg store.Message, p store.Position, later *[]*session) route.Result {
	r := route.Result{Status: route.Offline, Epoch: p.Epoch, Seq: p.Seq}
	if s := c.hub.get(deviceID); s != nil {
		msg.Seq = p.Seq
		if s.offerOwn(msg, p.Epoch, later) != offerDropped {
			r.Status = route.Written
		}
	}
	return r
}

func (c *Connector) countOutcomes(res []route.Result) {
	for _, r := range res {
		c.m.deliveries.WithLabelValues(r.Status.String()).Inc()
	}
}

// countMessages adds delta once per message to its push's counters. The
// counts are summed in memory and written by Run every flush interval, so
// that a broadcast acknowledged by every session costs one write, not one
// per session; counts the store refuses wait for the next flush.
func (c *Connector) countMessages(_ context.Context, msgs []store.Message, delta store.Counts) {
	c.sums.AddEach(msgs, delta)
}

// acks is the store as outcome.Ack sees it: counter updates go to the
// summed counts, so that an acknowledgement is not left uncounted when its
// counter write fails.
func (c *Connector) acks() outcome.Summed {
	return outcome.Summed{Store: c.store, Sums: c.sums, Delay: c.observeAckDelay}
}

func (c *Connector) observeAckDelay(d time.Duration) { c.m.ackDelay.Observe(d.Seconds()) }

// countFlushInterval is how often summed counts are written.
const countFlushInterval = 100 * time.Millisecond

// runCounts writes the summed counts every countFlushInterval until ctx
// ends. It also closes, every half heartbeat, the sessions that went silent:
// one sweep for all of them instead of a read deadline per socket.
func (c *Connector) runCounts(ctx context.Context) {
	t := time.NewTicker(countFlushInterval)
	defer t.Stop()
	sweep := time.NewTicker(c.cfg.Heartbeat / 2)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.sums.Flush(ctx)
		case now := <-sweep.C:
			c.sweepIdle(now)
		}
	}
}
