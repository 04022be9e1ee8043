package bench

import (
	"context"
	"fmt"
	"time"
)

// callTimeout bounds a quick command (stats, reset, hold, release).
const callTimeout = 30 * time.Second

// fleetStats is the sum of the workers' replies.
type fleetStats struct {
	devices, ready, failed, synced int
	received                       uint64
	devicesReceived                int
	firstPhaseNs                   int64 // earliest phase start of a worker
	lastReadyNs                    int64
	lastSyncedNs                   int64
	lastRecvNs                     int64
	disconnects                    uint64
	hist                           Histogram
}

func mergeReplies(reps []reply) fleetStats {
	var s fleetStats
	for _, r := range reps {
		s.devices += r.Devices
		s.ready += r.Ready
		s.failed += r.Failed
		s.synced += r.Synced
		s.received += r.Received
		s.devicesReceived += r.DevicesReceived
		if s.firstPhaseNs == 0 || (r.PhaseNs > 0 && r.PhaseNs < s.firstPhaseNs) {
			s.firstPhaseNs = r.PhaseNs
		}
		s.lastReadyNs = max(s.lastReadyNs, r.LastReadyNs)
		s.lastSyncedNs = max(s.lastSyncedNs, r.LastSyncedNs)
		s.lastRecvNs = max(s.lastRecvNs, r.LastRecvNs)
		s.disconnects += r.Disconnects
		if r.Hist != nil {
			s.hist.Merge(r.Hist)
		}
	}
	return s
}

// connect connects every device and fails unless all synced in time.
func (e *env) connect(ctx context.Context) (fleetStats, error) {
	timeout := fleetTimeout(e.cfg.Devices)
	reps, err := e.pool.call(ctx, command{Cmd: cmdConnect}, timeout)
	if reps == nil {
		return fleetStats{}, err
	}
	s := mergeReplies(reps)
	if s.synced < e.cfg.Devices {
		return s, fmt.Errorf("%d of %d devices connected and caught up within %s (%d refused by the server): %w",
			s.synced, e.cfg.Devices, timeout, s.failed, err)
	}
	return s, nil
}

// stats asks every worker for its counts.
func (e *env) stats(ctx context.Context, hist bool) (fleetStats, error) {
	reps, err := e.pool.call(ctx, command{Cmd: cmdStats, Hist: hist}, callTimeout)
	if err != nil {
		return fleetStats{}, err
	}
	return mergeReplies(reps), nil
}

// simple sends a command without arguments to every worker.
func (e *env) simple(ctx context.Context, cmd string) error {
	_, err := e.pool.call(ctx, command{Cmd: cmd}, callTimeout)
	return err
}

// waitStats polls the workers' counts every interval until done holds or
// timeout passes; it returns the last counts and whether done held.
func (e *env) waitStats(ctx context.Context, every, timeout time.Duration, done func(fleetStats) bool) (fleetStats, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last fleetStats
	var err error
	ok := pollUntil(ctx, every, func() bool {
		s, serr := e.stats(ctx, false)
		if serr != nil {
			err = serr
			return true
		}
		last = s
		return done(s)
	}) == nil
	if err != nil && ctx.Err() == nil {
		return last, false, err
	}
	return last, ok && err == nil, nil
}

// serverSample is the server's process figures and metrics at one moment.
type serverSample struct {
	proc ProcSample
	// scraped is when the metrics below were read: the scrape's answer,
	// which a busy server may send well after proc.At.
	scraped    time.Time
	goroutines float64
	sessions   float64
	handshakes float64
	dispatches float64 // dispatch requests answered
}

func (e *env) sample(ctx context.Context) (serverSample, error) {
	var s serverSample
	var err error
	if s.proc, err = ReadProc(e.t.pid); err != nil {
		return s, err
	}
	m, err := scrape(ctx, e.hc, e.t.url)
	if err != nil {
		return s, err
	}
	s.scraped = time.Now()
	g, ok := m[metricGoroutines]
	if !ok {
		return s, fmt.Errorf("server /metrics has no %s", metricGoroutines)
	}
	s.goroutines, s.sessions, s.handshakes = g, m[metricSessions], m[metricHandshakes]
	s.dispatches = m[metricDispatches]
	return s, nil
}
