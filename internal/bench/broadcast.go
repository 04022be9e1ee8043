package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

const (
	// broadcastWindow is how many broadcasts may be on their way at once.
	broadcastWindow = 2
	// maxBroadcasts bounds the broadcasts of one run.
	maxBroadcasts = 10_000
	// fanoutTimeout bounds the wait for one broadcast to reach every
	// device.
	fanoutTimeout = 30 * time.Second
)

// broadcast sends app-wide pushes for the configured duration, at most
// broadcastWindow on their way at once, and measures their fan-out. The Ack
// frames the server received per delivered message show how many pushes
// the devices acknowledged together.
func (e *env) broadcast(ctx context.Context) (Figures, error) {
	if _, err := e.connect(ctx); err != nil {
		return nil, err
	}
	if err := e.simple(ctx, cmdReset); err != nil {
		return nil, err
	}
	n := uint64(e.cfg.Devices)
	// The metrics are read outside the CPU window: a scrape costs the
	// server CPU of its own.
	m0, err := scrape(ctx, e.hc, e.t.url)
	if err != nil {
		return nil, err
	}
	before, err := ReadProc(e.t.pid)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	sent, complete, err := e.sendBroadcasts(ctx, start)
	if err != nil {
		return nil, err
	}
	after, err := ReadProc(e.t.pid)
	if err != nil {
		return nil, err
	}
	m1, err := e.acksSettled(ctx)
	if err != nil {
		return nil, err
	}
	s, err := e.stats(ctx, true)
	if err != nil {
		return nil, err
	}
	if !complete {
		e.log.WarnContext(ctx, "broadcasts did not reach every device", "sent", sent, "received", s.received, "want", uint64(sent)*n)
	}
	got := math.Max(float64(s.received), 1)
	window := time.Duration(s.lastRecvNs - start.UnixNano())
	return Figures{
		{"delivered_per_s", float64(s.received) / math.Max(window.Seconds(), 1e-3)},
		{"cpu_us_per_msg", float64((after.CPU - before.CPU).Microseconds()) / got},
		{"p50_ms", ms(s.hist.Quantile(0.50))},
		{"p99_ms", ms(s.hist.Quantile(0.99))},
		{"broadcasts", float64(sent)},
		{"delivered_ratio", float64(s.received) / float64(uint64(sent)*n)},
		{"acks_per_msg", (m1[metricAcks] - m0[metricAcks]) / got},
	}, nil
}

// sendBroadcasts sends app-wide pushes until the duration or
// maxBroadcasts is reached, at most broadcastWindow on their way, then
// waits until every device has every one; complete is false when a wait
// ran out.
func (e *env) sendBroadcasts(ctx context.Context, start time.Time) (sent int, complete bool, err error) {
	n := uint64(e.cfg.Devices)
	complete = true
	for sent < maxBroadcasts && time.Since(start) < e.cfg.Duration && complete {
		if err := e.api.push(ctx, audience{Broadcast: true}); err != nil {
			var pe *pushError
			if errors.As(err, &pe) {
				return sent, false, fmt.Errorf("%w: %d %s", ErrNoBroadcast, pe.Status, pe.Body)
			}
			return sent, false, fmt.Errorf("broadcast: %w", err)
		}
		sent++
		want := uint64(max(0, sent-broadcastWindow+1)) * n
		if _, complete, err = e.waitStats(ctx, 10*time.Millisecond, fanoutTimeout, func(s fleetStats) bool {
			return s.received >= want
		}); err != nil {
			return sent, false, err
		}
	}
	_, complete, err = e.waitStats(ctx, 10*time.Millisecond, fanoutTimeout, func(s fleetStats) bool {
		return s.received >= uint64(sent)*n
	})
	return sent, complete, err
}

// acksSettled scrapes the server's metrics until its count of Ack frames
// holds still for 50 ms (the last deliveries' Acks are then in), at most for
// a second, and returns the last scrape.
func (e *env) acksSettled(ctx context.Context) (m map[string]float64, err error) {
	wait, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	pollUntil(wait, 50*time.Millisecond, func() bool { //nolint:errcheck // unsettled after a second: the last scrape stands
		next, serr := scrape(ctx, e.hc, e.t.url)
		if serr != nil {
			err = serr
			return true
		}
		settled := m != nil && next[metricAcks] == m[metricAcks]
		m = next
		return settled
	})
	return m, err
}
