package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// p99Target is the latency a sustained unicast rate must keep its p99
	// under.
	p99Target = 10 * time.Millisecond
	// senders bounds the REST calls in flight.
	senders = 128
	// searchStart is the first rate of the search; it doubles up to
	// searchMax, then bisects.
	searchStart    = 100.0
	searchMax      = 51200.0
	maxSearchSteps = 16
	maxBisections  = 3
	// maxStepPushes bounds the pushes of one rate step.
	maxStepPushes = 2_000_000
	// drainTimeout bounds the wait for pushes still in flight.
	drainTimeout = 10 * time.Second
)

// stepResult is the outcome of sending at one rate.
type stepResult struct {
	rate     float64 // asked
	achieved float64 // accepted pushes per second of sending
	accepted int64
	refused  int64
	skipped  int // scheduled pushes dropped because every sender was busy
	received uint64
	hist     Histogram
	cpu      time.Duration // server CPU from the first push to the last delivery
	err      error         // first refusal
}

// sustained reports whether the server kept up with the rate: every push
// accepted and delivered, with its latency measured, the rate met within
// 5%, and p99 under 10 ms.
func (r *stepResult) sustained() bool {
	return r.accepted > 0 && r.refused == 0 && r.skipped == 0 && r.received >= uint64(r.accepted) &&
		r.hist.Count() >= uint64(r.accepted) && r.achieved >= 0.95*r.rate && r.hist.Quantile(0.99) < p99Target
}

// unicast sends pushes to random devices at a fixed rate, or searches for
// the highest rate whose p99 stays under 10 ms.
func (e *env) unicast(ctx context.Context) (Figures, error) {
	if _, err := e.connect(ctx); err != nil {
		return nil, err
	}
	before, err := e.sample(ctx)
	if err != nil {
		return nil, err
	}
	var figs Figures
	if e.cfg.Rate > 0 {
		r, err := e.unicastStep(ctx, e.cfg.Rate)
		if err != nil {
			return nil, err
		}
		best := 0.0
		if r.sustained() {
			best = r.rate
		}
		figs = unicastFigures(r, best, 1)
	} else if figs, err = e.unicastSearch(ctx); err != nil {
		return nil, err
	}
	after, err := e.sample(ctx)
	if err != nil {
		return nil, err
	}
	return append(figs, Figure{"reconnects_per_conn", (after.handshakes - before.handshakes) / float64(e.cfg.Devices)}), nil
}

// unicastSearch searches for the highest sustained rate (searchRate) and
// reports it.
func (e *env) unicastSearch(ctx context.Context) (Figures, error) {
	best, lowest, steps, err := searchRate(func(rate float64) (*stepResult, error) {
		r, err := e.unicastStep(ctx, rate)
		if err == nil {
			e.log.InfoContext(ctx, "unicast step", "rate", rate, "achieved", r.achieved, "p99_ms", ms(r.hist.Quantile(0.99)),
				"sustained", r.sustained(), "skipped", r.skipped, "refused", r.refused)
		}
		return r, err
	})
	if err != nil {
		return nil, err
	}
	if best == nil {
		return unicastFigures(lowest, 0, steps), nil
	}
	return unicastFigures(best, best.rate, steps), nil
}

// searchRate doubles the rate from searchStart while it is sustained, then
// bisects between the last good and the first bad rate; at most
// maxSearchSteps steps. A rate that fails is tried once more before it
// counts as failed: a single stall of a few milliseconds in a 5 s step (a
// memtable flush, a collection, another tenant of the machine) puts its p99
// over 10 ms, and one such step early in the search used to end it at a
// tenth of what the server sustains. best is nil when no rate held.
func searchRate(step func(rate float64) (*stepResult, error)) (best, lowest *stepResult, steps int, err error) {
	lo, hi, rate, bisections := 0.0, 0.0, searchStart, 0
	for done := false; !done && steps < maxSearchSteps; {
		r, err := step(rate)
		if err != nil {
			return nil, nil, steps, err
		}
		steps++
		if !r.sustained() && steps < maxSearchSteps {
			again, err := step(rate)
			if err != nil {
				return nil, nil, steps, err
			}
			steps++
			if again.sustained() {
				r = again
			}
		}
		ok := r.sustained()
		if lowest == nil || r.rate < lowest.rate {
			lowest = r
		}
		if ok {
			best, lo = r, rate
		} else {
			hi = rate
		}
		switch {
		case hi == 0 && rate*2 <= searchMax:
			rate *= 2
		case hi == 0 || bisections >= maxBisections:
			done = true
		default:
			bisections++
			rate = (lo + hi) / 2
		}
	}
	return best, lowest, steps, nil
}

func unicastFigures(r *stepResult, best float64, steps int) Figures {
	return Figures{
		{"max_rate_p99_under_10ms", best},
		{"pushes_per_s", r.achieved},
		{"p50_ms", ms(r.hist.Quantile(0.50))},
		{"p99_ms", ms(r.hist.Quantile(0.99))},
		{"p999_ms", ms(r.hist.Quantile(0.999))},
		{"cpu_us_per_push", cpuPerPush(r)},
		{"steps", float64(steps)},
	}
}

// cpuPerPush is the server CPU of a step, accepting and delivering
// included, per accepted push.
func cpuPerPush(r *stepResult) float64 {
	if r.accepted == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(r.accepted)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// unicastStep sends rate pushes/s for the configured duration, each to a
// random device, and measures their delivery.
func (e *env) unicastStep(ctx context.Context, rate float64) (*stepResult, error) {
	if err := e.simple(ctx, cmdReset); err != nil {
		return nil, err
	}
	total := min(maxStepPushes, max(1, int(rate*e.cfg.Duration.Seconds())))
	sctx, cancel := context.WithTimeout(ctx, e.cfg.Duration+time.Minute)
	defer cancel()
	r := &stepResult{rate: rate}
	jobs := make(chan string, 2*senders)
	var accepted, refused atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	push := func(id string) error { return e.api.push(sctx, audience{DeviceIDs: []string{id}}) }
	if p, err := newH1Pool(e.api.base, e.api.key, e.api.secret); err == nil {
		defer p.close()
		push = func(id string) error { return p.push(sctx, id) }
	}
	for range senders {
		wg.Go(func() {
			for id := range jobs {
				if err := push(id); err != nil {
					refused.Add(1)
					firstErr.Do(func() { r.err = err })
					continue
				}
				accepted.Add(1)
			}
		})
	}
	before, err := ReadProc(e.t.pid)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r.skipped = schedule(sctx, rate, total, func() string { return e.ids[rand.IntN(len(e.ids))] }, jobs)
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	r.accepted, r.refused = accepted.Load(), refused.Load()
	r.achieved = float64(r.accepted) / elapsed.Seconds()
	if r.err != nil {
		e.log.WarnContext(ctx, "pushes refused", "count", r.refused, "first", r.err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if _, _, err := e.waitStats(ctx, 50*time.Millisecond, drainTimeout, func(s fleetStats) bool {
		return s.received >= uint64(r.accepted)
	}); err != nil {
		return nil, err
	}
	if e.cfg.Settle > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(e.cfg.Settle):
		}
	}
	after, err := ReadProc(e.t.pid)
	if err != nil {
		return nil, err
	}
	r.cpu = after.CPU - before.CPU
	s, err := e.stats(ctx, true)
	if err != nil {
		return nil, err
	}
	r.received, r.hist = s.received, s.hist
	return r, nil
}

// schedule hands total jobs to the senders at rate per second, open loop:
// a job that finds every sender busy and the queue full is dropped and
// counted. It stops early when ctx ends or the sending overruns its
// planned time by 5 seconds.
func schedule(ctx context.Context, rate float64, total int, pick func() string, jobs chan<- string) (skipped int) {
	start := time.Now()
	stop := start.Add(time.Duration(float64(total)/rate*float64(time.Second)) + 5*time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	i := 0
	for i < total {
		due := min(total, int(time.Since(start).Seconds()*rate)+1)
		for ; i < due; i++ {
			select {
			case jobs <- pick():
			default:
				skipped++
			}
		}
		if i >= total {
			break
		}
		select {
		case <-ctx.Done():
			return skipped + total - i
		case now := <-tick.C:
			if now.After(stop) {
				return skipped + total - i
			}
		}
	}
	return skipped
}
