package bench

import (
	"context"
	"math"
	"time"
)

// settleTimeout bounds the wait for the server to settle after connects.
const settleTimeout = 20 * time.Second

// idle connects every device and measures what an idle connection costs
// the server.
func (e *env) idle(ctx context.Context) (Figures, error) {
	before, err := e.sample(ctx)
	if err != nil {
		return nil, err
	}
	devCPU0, ownCPU, err := e.pool.cpu()
	if err != nil {
		return nil, err
	}
	st, err := e.connect(ctx)
	if err != nil {
		return nil, err
	}
	connected, err := ReadProc(e.t.pid)
	if err != nil {
		return nil, err
	}
	devCPU1, _, err := e.pool.cpu()
	if err != nil {
		return nil, err
	}
	after, err := e.settle(ctx, before.sessions+float64(e.cfg.Devices))
	if err != nil {
		return nil, err
	}
	n := float64(e.cfg.Devices)
	window := time.Duration(st.lastReadyNs - st.firstPhaseNs)
	f := Figures{
		{"rss_per_conn_kb", float64(after.proc.RSS-before.proc.RSS) / 1024 / n},
		{"goroutines_per_conn", (after.goroutines - before.goroutines) / n},
		{"handshakes_per_s", n / math.Max(window.Seconds(), 1e-3)},
		{"cpu_us_per_connect", float64((connected.CPU - before.proc.CPU).Microseconds()) / n},
		{"rss_mb", float64(after.proc.RSS) / (1 << 20)},
		{"reconnects_per_conn", (after.handshakes - before.handshakes - n) / n},
		{"dispatches_per_conn", (after.dispatches - before.dispatches) / n},
	}
	if ownCPU {
		f = append(f, Figure{"devices_cpu_us_per_connect", float64((devCPU1 - devCPU0).Microseconds()) / n})
	}
	return f, nil
}

// settle waits until the server holds the sessions and its goroutine
// count and RSS stop moving (two samples 250 ms apart in a row with the
// same goroutines and RSS within 1%), at most settleTimeout; it returns
// the last sample.
func (e *env) settle(ctx context.Context, sessions float64) (serverSample, error) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	prev, err := e.sample(ctx)
	if err != nil {
		return prev, err
	}
	calm := 0
	pollUntil(ctx, 250*time.Millisecond, func() bool { //nolint:errcheck // unsettled: the last sample stands
		cur, serr := e.sample(ctx)
		if serr != nil {
			err = serr
			return true
		}
		steady := cur.sessions >= sessions && cur.goroutines == prev.goroutines &&
			math.Abs(float64(cur.proc.RSS-prev.proc.RSS)) <= 0.01*float64(prev.proc.RSS)
		prev = cur
		if steady {
			calm++
		} else {
			calm = 0
		}
		return calm >= 2
	})
	if err != nil && ctx.Err() == nil {
		return prev, err
	}
	if calm < 2 {
		e.log.WarnContext(ctx, "server did not settle; using the last sample", "timeout", settleTimeout,
			"sessions", prev.sessions, "want_sessions", sessions)
	}
	return prev, nil
}
