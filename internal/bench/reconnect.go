package bench

import (
	"context"
	"fmt"
	"math"
	"time"
)

// sampleEvery is the window of the peak rates during reconnect.
const sampleEvery = 100 * time.Millisecond

// reconnect drops every session at once by killing the server (SIGKILL),
// keeps the devices offline while it restarts on the same port and data,
// sends each device one push, then lets them all reconnect at once and
// measures the time until every device has caught up.
func (e *env) reconnect(ctx context.Context) (Figures, error) {
	if _, err := e.connect(ctx); err != nil {
		return nil, err
	}
	killed, restarted, offline, err := e.outage(ctx)
	if err != nil {
		return nil, err
	}
	before, err := e.sample(ctx)
	if err != nil {
		return nil, err
	}
	sctx, stopSampling := context.WithCancel(ctx)
	peaks := e.samplePeaks(sctx)
	released := time.Now()
	if err := e.simple(ctx, cmdRelease); err != nil {
		stopSampling()
		return nil, err
	}
	n := e.cfg.Devices
	s, ok, err := e.waitStats(ctx, sampleEvery, fleetTimeout(n), func(s fleetStats) bool {
		return s.synced >= n && s.devicesReceived >= n
	})
	stopSampling()
	pk := <-peaks
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("after %s, %d of %d devices were back and %d had their pending push",
			fleetTimeout(n), s.synced, n, s.devicesReceived)
	}
	after, err := e.sample(ctx)
	if err != nil {
		return nil, err
	}
	end := time.Unix(0, max(s.lastSyncedNs, s.lastRecvNs))
	back := end.Sub(released)
	return Figures{
		{"reconnect_s", back.Seconds()},
		{"devices_per_s", float64(n) / math.Max(back.Seconds(), 1e-3)},
		{"restart_s", restarted.Sub(killed).Seconds()},
		{"outage_s", end.Sub(killed).Seconds()},
		{"retries_per_conn", float64(s.disconnects) / float64(n)},
		{"dispatches_per_conn", (after.dispatches - before.dispatches) / float64(n)},
		{"peak_handshakes_per_s", pk.handshakes},
		{"peak_cpu_cores", pk.cpu},
		{"peak_disk_write_mb_per_s", pk.writeMB},
		{"pending_pushes", float64(offline)},
	}, nil
}

// outage holds the devices' connections, kills the server, restarts it,
// sends each device one push, and clears the workers' counts.
func (e *env) outage(ctx context.Context) (killed, restarted time.Time, pushes int, err error) {
	if err = e.simple(ctx, cmdHold); err != nil {
		return killed, restarted, 0, err
	}
	killed = time.Now()
	if err = e.t.kill(); err != nil {
		return killed, restarted, 0, err
	}
	if err = e.t.restart(ctx); err != nil {
		return killed, restarted, 0, fmt.Errorf("restart server: %w", err)
	}
	restarted = time.Now()
	if pushes, err = e.pushAll(ctx); err != nil {
		return killed, restarted, pushes, err
	}
	return killed, restarted, pushes, e.simple(ctx, cmdReset)
}

// pushAll sends one push to every device, up to 1,000 devices per
// request, and returns the number of requests.
func (e *env) pushAll(ctx context.Context) (int, error) {
	const perPush = 1000
	count := 0
	for i := 0; i < len(e.ids); i += perPush {
		if err := e.api.push(ctx, audience{DeviceIDs: e.ids[i:min(i+perPush, len(e.ids))]}); err != nil {
			return count, fmt.Errorf("push to offline devices: %w", err)
		}
		count++
	}
	return count, nil
}

// peaks are the highest rates seen in one sampling window.
type peaks struct {
	handshakes float64 // handshakes/s from push_connector_handshakes_total
	cpu        float64 // server CPU seconds per second
	writeMB    float64 // server storage writes, MB/s (/proc/PID/io)
}

// add takes the rates between two samples into the peaks. The /proc
// figures are timed by their own reading and the handshakes by their scrape:
// during a reconnect storm a scrape can be answered a window or more after
// it was sent, and timing its counter by the /proc reading made one slow
// scrape followed by a fast one read several times the true rate.
func (pk *peaks) add(prev, cur serverSample) {
	if dt := cur.proc.At.Sub(prev.proc.At).Seconds(); dt > 0 {
		pk.cpu = math.Max(pk.cpu, (cur.proc.CPU-prev.proc.CPU).Seconds()/dt)
		pk.writeMB = math.Max(pk.writeMB, float64(cur.proc.WriteBytes-prev.proc.WriteBytes)/dt/1e6)
	}
	if dt := cur.scraped.Sub(prev.scraped).Seconds(); dt > 0 {
		pk.handshakes = math.Max(pk.handshakes, (cur.handshakes-prev.handshakes)/dt)
	}
}

// samplePeaks samples the server every sampleEvery until ctx ends, then
// sends the peaks.
func (e *env) samplePeaks(ctx context.Context) <-chan peaks {
	out := make(chan peaks, 1)
	go func() {
		var pk peaks
		defer func() { out <- pk }()
		prev, err := e.sample(ctx)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			cur, cerr := e.sample(ctx)
			if cerr != nil {
				continue
			}
			if err == nil {
				pk.add(prev, cur)
			}
			prev, err = cur, nil
		}
	}()
	return out
}
