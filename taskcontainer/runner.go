package taskcontainer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/bus"
	"github.com/mopush/mopush/internal/store"
)

// Store is the part of the data layer a runner uses.
type Store interface {
	Campaign(ctx context.Context, id string) (*store.Campaign, error)
	UpdateCampaign(ctx context.Context, c *store.Campaign) error
	DeviceIDsByTags(ctx context.Context, appID string, tags []string, after string, limit int) ([]string, error)
	DeviceIDsByApp(ctx context.Context, appID string, after string, limit int) ([]string, error)
	Devices(ctx context.Context, ids []string) ([]*store.Device, error)
}

// Config tunes a runner. Zero values mean the defaults given.
type Config struct {
	// Workers is how many campaigns one runner sends at once. Default 4.
	Workers int `toml:"workers"`
	// PageSize is how many devices one push of a campaign goes to (at
	// most the gateway's max_targets). Default 500.
	PageSize int `toml:"page_size"`
}

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.PageSize <= 0 {
		c.PageSize = 500
	}
}

// Runner takes campaign jobs from the queue and sends the campaigns.
type Runner struct {
	cfg    Config
	js     jetstream.JetStream
	store  Store
	pusher Pusher
	log    *slog.Logger
	m      *metrics
	// now and sleep are the clock (tests replace them).
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) bool
	zones zones
}

// New returns a runner. log and reg may be nil.
func New(cfg Config, js jetstream.JetStream, st Store, p Pusher, log *slog.Logger, reg prometheus.Registerer) *Runner {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, js: js, store: st, pusher: p, log: log.With("component", "taskcontainer"),
		m: newMetrics(reg), now: time.Now, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ackWait is how long JetStream waits for a campaign job's ack before it
// hands the job to another runner: the time to take over after a crash. A
// running job reports progress every ackWait/3.
const ackWait = 30 * time.Second

// Run takes jobs until ctx ends, then waits for the campaigns being sent
// to stop at their next page.
func (r *Runner) Run(ctx context.Context) error {
	var c jetstream.Consumer
	for {
		var err error
		if c, err = r.consumer(ctx); err == nil {
			break
		}
		r.log.ErrorContext(ctx, "campaign queue unavailable; retrying", "error", err)
		if !r.sleep(ctx, time.Second) {
			return nil
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, r.cfg.Workers)
	for ctx.Err() == nil {
		it, err := c.Messages(jetstream.PullMaxMessages(r.cfg.Workers))
		if err != nil {
			r.log.ErrorContext(ctx, "campaign consume failed; retrying", "error", err)
			r.sleep(ctx, time.Second)
			continue
		}
		stop := context.AfterFunc(ctx, it.Drain)
		for {
			msg, err := it.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrNoHeartbeat) && ctx.Err() == nil {
					continue
				}
				break
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				msg.Nak() //nolint:errcheck // redelivered after ackWait anyway
				continue
			}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				r.handle(ctx, msg)
			}()
		}
		stop()
		it.Stop()
	}
	return nil
}

func (r *Runner) consumer(ctx context.Context) (jetstream.Consumer, error) {
	s, err := ensure(ctx, r.js)
	if err != nil {
		return nil, err
	}
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       consumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
		MaxAckPending: 1000,
	})
	if err != nil {
		return nil, fmt.Errorf("campaign consumer: %w", err)
	}
	return c, nil
}

// handle runs one job's campaign and settles the job: acked when the
// campaign needs nothing more of this job, redelivered later when it waits
// for its send time or failed.
func (r *Runner) handle(ctx context.Context, msg jetstream.Msg) {
	job, err := decodeJob(msg.Data())
	if err != nil {
		r.log.WarnContext(ctx, "bad campaign job dropped", "error", err)
		msg.Term() //nolint:errcheck // it is never delivered again either way
		return
	}
	stop := bus.KeepAlive(msg, ackWait/3) // JetStream keeps the job with us
	wait, err := r.Step(ctx, job.CampaignID)
	stop()
	switch {
	case err != nil:
		r.m.jobs.WithLabelValues("failed").Inc()
		r.log.WarnContext(ctx, "campaign failed; retrying", "campaign_id", job.CampaignID, "error", err)
		msg.NakWithDelay(5 * time.Second) //nolint:errcheck // redelivered after ackWait anyway
	case wait > 0:
		r.m.jobs.WithLabelValues("waiting").Inc()
		msg.NakWithDelay(wait) //nolint:errcheck // redelivered after ackWait anyway
	default:
		r.m.jobs.WithLabelValues("settled").Inc()
		msg.Ack() //nolint:errcheck // redelivered at worst, and a settled campaign does nothing
	}
}

// maxWait bounds how long a job waiting for its send time is put aside at
// once, so that a changed send time or a new runner is seen soon.
const maxWait = time.Minute
