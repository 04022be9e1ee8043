package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/bus"
	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/relay"
)

// Store is the part of the data layer the relay uses.
type Store interface {
	outcome.Store
	OutcomeOf(ctx context.Context, deviceID string, seq uint64) (store.Outcome, error)
	Watermark(ctx context.Context, deviceID string, mark store.Mark) (uint64, error)
	ReadStream(ctx context.Context, deviceID string, epoch, since uint64, limit int) (store.Page, error)
	Devices(ctx context.Context, ids []string) ([]*store.Device, error)
	UpdateDevice(ctx context.Context, id string, change func(*store.Device) bool) (*store.Device, error)
	AppByID(ctx context.Context, id string) (*store.App, error)
	CredentialVendors(ctx context.Context, appID string) ([]string, error)
	Push(ctx context.Context, id string) (*store.Push, error)
}

// Senders gives the sender for an app's vendor credential.
type Senders interface {
	Sender(ctx context.Context, appID, vendor string) (relay.Sender, error)
}

// Config tunes the relay. Zero values mean the defaults given.
type Config struct {
	// Workers is how many jobs are handled at once. Default 64.
	Workers int
	// PerCredential bounds concurrent sends per app and vendor. Default 16.
	PerCredential int
	// MaxAttempts is how often a retryable vendor error is retried before
	// the target ends as relay_failed. Default 8.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the retry delay (exponential, full
	// jitter; a vendor's Retry-After wins when longer). Defaults 1s, 5m.
	MinBackoff, MaxBackoff time.Duration
	// VendorOrder is the preference among a device's tokens. Default:
	// apns, fcm, hms, honor, xiaomi, oppo, vivo, wns, webpush.
	VendorOrder []string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Renewer, when set, is the streams' store, one that can lose writes it
	// applied (Redis, Aerospike): a check that finds its stream went back
	// within its epoch moves the stream to a new one (decisions.md, "Streams
	// that lose messages").
	Renewer EpochRenewer
	// Targets, when set, reads what a check needs of a target's stream in
	// one round trip (Redis); without it a check reads the stream, the
	// watermark and the outcome one after the other.
	Targets TargetReader
}

// TargetReader reads what the fallback check of message seq of a device's
// stream needs; see redisstore.Store.ReadTarget.
type TargetReader interface {
	ReadTarget(ctx context.Context, deviceID string, seq uint64) (store.Target, error)
}

// EpochRenewer moves a device's stream that went back in epoch to a new
// epoch, keeping its messages; see redisstore.Store.RenewEpoch and
// aerostore.Store.RenewEpoch.
type EpochRenewer interface {
	RenewEpoch(ctx context.Context, deviceID string, epoch uint64) (uint64, error)
}

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 64
	}
	if c.PerCredential <= 0 {
		c.PerCredential = 16
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if len(c.VendorOrder) == 0 {
		c.VendorOrder = []string{"apns", "fcm", "hms", "honor", "xiaomi", "oppo", "vivo", "wns", "webpush"}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Engine is the relay.
type Engine struct {
	cfg     Config
	js      jetstream.JetStream
	pub     *relayq.Publisher
	store   Store
	senders Senders
	log     *slog.Logger
	m       *metrics

	pushes *pushCache
	// sums holds the counts of recorded outcomes until runCounts writes
	// them, and keeps those the store refuses.
	sums *outcome.Sums

	mu   sync.Mutex
	sems map[string]chan struct{} // per app and vendor
}

// New returns a relay engine. log and reg may be nil.
func New(cfg Config, js jetstream.JetStream, st Store, senders Senders, log *slog.Logger, reg prometheus.Registerer) *Engine {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg: cfg, js: js, pub: &relayq.Publisher{JS: js}, store: st, senders: senders,
		log: log.With("component", "relay"), m: newMetrics(reg), sems: map[string]chan struct{}{},
		pushes: newPushCache(pushCacheSize),
	}
	e.sums = outcome.NewSums(st, e.log, e.m.countsDropped)
	return e
}

// countFlushInterval is how often the counts of recorded outcomes are
// written.
const countFlushInterval = 100 * time.Millisecond

// runCounts flushes the summed counts every countFlushInterval until done
// is closed, and then until they are written (outcome.FinalFlushBudget at
// most).
func (e *Engine) runCounts(ctx context.Context, done <-chan struct{}) {
	t := time.NewTicker(countFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			e.sums.FlushFinal(ctx, outcome.FinalFlushBudget, countFlushInterval)
			return
		case <-t.C:
			e.sums.Flush(ctx)
		}
	}
}

// Run consumes the relay queue until ctx ends; jobs in hand are finished
// before it returns.
func (e *Engine) Run(ctx context.Context) error {
	fallback, send, err := e.consumers(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	var wg sync.WaitGroup
	jobs := make(chan work)
	workersDone := make(chan struct{})
	var counts sync.WaitGroup
	counts.Go(func() { e.runCounts(context.WithoutCancel(ctx), workersDone) })
	defer counts.Wait()
	defer close(workersDone)
	for range e.cfg.Workers {
		wg.Go(func() {
			for w := range jobs {
				e.handle(context.WithoutCancel(ctx), w)
			}
		})
	}
	var feeders sync.WaitGroup
	feeders.Go(func() { e.feed(ctx, fallback, false, jobs) })
	for _, c := range send {
		feeders.Go(func() { e.feed(ctx, c, true, jobs) })
	}
	feeders.Wait()
	close(jobs)
	wg.Wait()
	return nil
}

// consumers returns the durable consumer of the fallback checks and one
// per vendor of the send jobs: each vendor is a work queue of its own, so
// a vendor that is slow or down holds back only its own jobs.
func (e *Engine) consumers(ctx context.Context) (fallback jetstream.Consumer, send []jetstream.Consumer, err error) {
	s, err := relayq.Ensure(ctx, e.js)
	if err != nil {
		return nil, nil, err
	}
	if fallback, err = consumer(ctx, s, "relay-fallback", relayq.SubjectFallback); err != nil {
		return nil, nil, err
	}
	for _, v := range e.cfg.VendorOrder {
		c, err := consumer(ctx, s, "relay-send-"+v, relayq.SubjectSendPrefix+v)
		if err != nil {
			return nil, nil, err
		}
		send = append(send, c)
	}
	return fallback, send, nil
}

func consumer(ctx context.Context, s jetstream.Stream, name, subject string) (jetstream.Consumer, error) {
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
		MaxAckPending: 20000,
	})
	if err != nil {
		return nil, fmt.Errorf("relay consumer %s: %w", name, err)
	}
	return c, nil
}

// ackWait is how long JetStream waits for a job's ack before it hands the
// job out again: the recovery time after a crash. Handlers that run longer
// report progress every ackWait/3.
const ackWait = 10 * time.Second

type work struct {
	msg  jetstream.Msg
	send bool
}

// feedRetry is the pause before a feeder whose message iterator failed
// starts a new one.
const feedRetry = time.Second

// feed pulls messages and hands them to the workers until ctx ends. It
// never gives up while ctx lasts: when an iterator fails, a new one starts
// after feedRetry.
func (e *Engine) feed(ctx context.Context, c jetstream.Consumer, send bool, out chan<- work) {
	for {
		e.pull(ctx, c, send, out)
		select {
		case <-ctx.Done():
			return
		case <-time.After(feedRetry):
		}
	}
}

// pull runs one message iterator until ctx ends or the iterator fails. A
// missed heartbeat (the server, the connection or this process stalled for
// two heartbeats) leaves the iterator working: it is logged and pulling
// goes on.
func (e *Engine) pull(ctx context.Context, c jetstream.Consumer, send bool, out chan<- work) {
	it, err := c.Messages(jetstream.PullMaxMessages(min(256, 2*e.cfg.Workers)))
	if err != nil {
		e.log.ErrorContext(ctx, "relay consume failed; retrying", "error", err)
		return
	}
	// On shutdown, stop pulling; what was already pulled is handed back at
	// once below instead of waiting out its AckWait.
	stop := context.AfterFunc(ctx, it.Drain)
	defer stop()
	for {
		msg, err := it.Next()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return
		case errors.Is(err, jetstream.ErrNoHeartbeat):
			e.log.WarnContext(ctx, "relay consume missed heartbeats; still pulling", "error", err)
			continue
		default:
			e.log.ErrorContext(ctx, "relay consume failed; retrying", "error", err)
			it.Stop()
			return
		}
		if ctx.Err() != nil {
			msg.Nak() //nolint:errcheck // redelivered after AckWait anyway
			continue
		}
		select {
		case out <- work{msg: msg, send: send}:
		case <-ctx.Done():
			msg.Nak() //nolint:errcheck // redelivered after AckWait anyway
		}
	}
}

func (e *Engine) handle(ctx context.Context, w work) {
	stop := bus.KeepAlive(w.msg, ackWait/3)
	defer stop()
	if !w.send {
		e.handleFallback(ctx, w.msg)
		return
	}
	job, err := relayq.Decode(w.msg.Data())
	if err != nil {
		e.log.ErrorContext(ctx, "dropping malformed relay job", "error", err)
		w.msg.Term() //nolint:errcheck // nothing else to do with it
		return
	}
	start := time.Now()
	delay, err := e.send(ctx, w.msg, job)
	e.m.handleS.WithLabelValues("send").Observe(time.Since(start).Seconds())
	switch {
	case err != nil:
		e.log.WarnContext(ctx, "relay job failed; retrying", "push_id", job.PushID, "device_id", job.DeviceID, "error", err)
		w.msg.NakWithDelay(e.backoff(attempts(w.msg))) //nolint:errcheck // redelivered after AckWait anyway
	case delay > 0:
		w.msg.NakWithDelay(delay) //nolint:errcheck // redelivered after AckWait anyway
	default:
		w.msg.Ack() //nolint:errcheck // a lost ack redelivers; outcomes make that harmless
	}
}

func attempts(m jetstream.Msg) int {
	md, err := m.Metadata()
	if err != nil {
		return 1
	}
	return int(md.NumDelivered)
}

// backoff returns a full-jitter exponential delay for the attempt.
func (e *Engine) backoff(attempt int) time.Duration {
	d := e.cfg.MinBackoff << min(max(attempt-1, 0), 20)
	if d > e.cfg.MaxBackoff || d <= 0 {
		d = e.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func target(j relayq.Job) outcome.Target {
	return outcome.Target{DeviceID: j.DeviceID, Seq: j.Seq, PushID: j.PushID}
}

// record sets a target's outcome and counts it; the count is written with
// the next flush, so a failing counter write does not fail the job (whose
// retry would find the outcome set and count nothing).
func (e *Engine) record(ctx context.Context, j relayq.Job, o store.Outcome, extra store.Counts) error {
	set, err := outcome.Record(ctx, outcome.Summed{Store: e.store, Sums: e.sums}, target(j), o, extra)
	if err == nil && set {
		e.m.outcomes.WithLabelValues(outcomeName(o)).Inc()
	}
	return err
}

func outcomeName(o store.Outcome) string {
	switch o {
	case store.OutcomeAcked:
		return "acked"
	case store.OutcomeRelayed:
		return "relayed"
	case store.OutcomeRelayFailed:
		return "relay_failed"
	case store.OutcomeExpired:
		return "expired"
	case store.OutcomeNoChannel:
		return "no_channel"
	}
	return "none"
}
