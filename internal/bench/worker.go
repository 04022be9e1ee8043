package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mopush/mopush/sdkproto/client"
)

// WorkerConfig configures one worker: a set of simulated devices in one
// process. Zero values mean the defaults given.
type WorkerConfig struct {
	// Server is the base URL of the mopush API (http on 127.0.0.0/8).
	Server string
	// AppKey is the key of the app the devices register with.
	AppKey string
	// Devices is how many devices this worker simulates. Required.
	Devices int
	// FirstIndex is the global index of the worker's first device; device
	// i connects from 127.0.0.(1 + (FirstIndex+i) mod SourceAddrs).
	FirstIndex int
	// SourceAddrs is how many source addresses devices rotate through, at
	// most MaxSourceAddrs. Default 1.
	SourceAddrs int
	// Concurrency bounds registrations and connects in flight. Default 64.
	Concurrency int
	// MaxBackoff caps the SDK's reconnect delay. Default 5s.
	MaxBackoff time.Duration
	// Logger receives the devices' warnings; default: none.
	Logger *slog.Logger
	// CPUProfile is where a worker process writes its CPU profile; empty:
	// none. RunWorker leaves it to the process.
	CPUProfile string
}

func (c *WorkerConfig) setDefaults() {
	c.Server = strings.TrimRight(c.Server, "/")
	c.SourceAddrs = min(max(c.SourceAddrs, 1), MaxSourceAddrs)
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// worker is the device fleet of one process.
type worker struct {
	cfg  WorkerConfig
	log  *slog.Logger
	gate *gate
	hc   *http.Client
	devs []*device

	phase atomic.Int64 // Unix ns: start of connect, or last release

	mu          sync.Mutex // guards hist and lastRecv
	hist        Histogram
	lastRecv    int64
	received    atomic.Uint64
	disconnects atomic.Uint64
}

// device is one simulated device.
type device struct {
	c        *client.Client
	started  bool
	done     chan struct{}
	failed   atomic.Bool
	readyNs  atomic.Int64 // last handshake
	syncedNs atomic.Int64 // last finished catch-up
	got      atomic.Int64 // pushes since the last reset
	slot     sync.Once    // frees the connect slot at the first outcome
	freeSlot func()
}

// RunWorker simulates cfg.Devices devices and serves the parent's commands
// read from in (JSON values), answering each with one JSON value on out.
// It returns when in ends, on quit, or when ctx ends, after stopping every
// device.
func RunWorker(ctx context.Context, cfg WorkerConfig, in io.Reader, out io.Writer) error {
	cfg.setDefaults()
	if cfg.Devices <= 0 {
		return fmt.Errorf("worker: devices must be positive, got %d", cfg.Devices)
	}
	if _, err := serverPort(cfg.Server); err != nil {
		return err
	}
	w := &worker{cfg: cfg, log: cfg.Logger, gate: newGate()}
	// No Client.Timeout: with a transport other than net/http's, it costs
	// a goroutine per request. The transport bounds each request instead,
	// and the SDK bounds its dispatch by HandshakeTimeout.
	w.hc = &http.Client{Transport: newH1Transport(dialFrom(w.gate, sourceIP(cfg.FirstIndex, cfg.SourceAddrs)),
		cfg.Concurrency, dispatchConns*cfg.Concurrency)}
	defer w.hc.CloseIdleConnections()
	devCtx, stopDevices := context.WithCancel(ctx)
	defer w.stop(stopDevices)
	for i := range cfg.Devices {
		w.devs = append(w.devs, w.newDevice(cfg.FirstIndex+i))
	}
	if c, ok := in.(io.Closer); ok {
		stopRead := context.AfterFunc(ctx, func() { c.Close() })
		defer stopRead()
	}
	dec, enc := json.NewDecoder(in), json.NewEncoder(out)
	for {
		var cmd command
		if err := dec.Decode(&cmd); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("worker: read command: %w", err)
		}
		r := w.handle(ctx, devCtx, cmd)
		r.Cmd, r.Seq, r.Devices = cmd.Cmd, cmd.Seq, len(w.devs)
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("worker: write reply: %w", err)
		}
		if cmd.Cmd == cmdQuit {
			return nil
		}
	}
}

// dispatchConns is how many times Concurrency a worker's devices may hold
// HTTP connections at once. In a dispatch storm (every device of a worker
// at once, after its connector failed) the wait for a connection counts
// against the SDK's HandshakeTimeout (10 s): even at 50 ms per answer, 256
// connections answer 9,000 devices in under 2 s. Two workers' 512 stay far
// from the server's open-file limit next to 18,000 sessions.
const dispatchConns = 4

func (w *worker) newDevice(index int) *device {
	d := &device{done: make(chan struct{})}
	d.c = client.New(client.Config{
		Server:         w.cfg.Server,
		HTTP:           w.hc,
		MaxBackoff:     w.cfg.MaxBackoff,
		NetDialContext: dialFrom(w.gate, sourceIP(index, w.cfg.SourceAddrs)),
		OnPush:         func(p client.Push) { w.onPush(d, p) },
		OnEvent:        func(e client.Event) { w.onEvent(d, e) },
		Logger:         w.log,
		AppKey:         w.cfg.AppKey,
	}, client.State{})
	return d
}

// onPush records the latency from the push's send time (data.t, Unix ns).
func (w *worker) onPush(d *device, p client.Push) {
	now := time.Now()
	d.got.Add(1)
	w.received.Add(1)
	sent, err := strconv.ParseInt(p.Data["t"], 10, 64)
	w.mu.Lock()
	if err == nil {
		w.hist.Record(now.Sub(time.Unix(0, sent)))
	}
	w.lastRecv = max(w.lastRecv, now.UnixNano())
	w.mu.Unlock()
}

func (w *worker) onEvent(d *device, e client.Event) {
	switch e.Kind {
	case client.EventReady:
		d.readyNs.Store(time.Now().UnixNano())
		d.slot.Do(d.freeSlot)
	case client.EventSynced:
		d.syncedNs.Store(time.Now().UnixNano())
	case client.EventDisconnected:
		w.disconnects.Add(1)
		d.slot.Do(d.freeSlot)
	}
}

func (w *worker) handle(ctx, devCtx context.Context, cmd command) reply {
	timeout := time.Duration(cmd.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = time.Minute
	}
	var r reply
	var err error
	switch cmd.Cmd {
	case cmdRegister:
		r.IDs, err = w.register(ctx, timeout)
	case cmdConnect:
		err = w.connect(ctx, devCtx, timeout)
	case cmdReset:
		w.reset()
	case cmdStats:
	case cmdHold:
		w.gate.hold()
	case cmdRelease:
		w.phase.Store(time.Now().UnixNano())
		w.gate.release()
	case cmdQuit:
		return r
	default:
		err = fmt.Errorf("unknown command %q", cmd.Cmd)
	}
	w.fill(&r, cmd.Hist)
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// register registers every device, Concurrency at a time, each at most 3
// attempts.
func (w *worker) register(ctx context.Context, timeout time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for _, d := range w.devs {
		if d.c.State().DeviceID != "" {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("register: %w", ctx.Err())
		}
		wg.Go(func() {
			defer func() { <-sem }()
			var err error
			for range 3 {
				if err = d.c.Register(ctx, client.Registration{Platform: "bench"}); err == nil || ctx.Err() != nil {
					break
				}
			}
			if err != nil {
				firstErr.CompareAndSwap(nil, &err)
			}
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return nil, *e
	}
	ids := make([]string, len(w.devs))
	for i, d := range w.devs {
		ids[i] = d.c.State().DeviceID
	}
	return ids, nil
}

// connect starts every device, Concurrency handshakes at a time, and waits
// until each has synced or failed, or the timeout passes.
func (w *worker) connect(ctx, devCtx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now().UnixNano()
	w.phase.Store(start)
	sem := make(chan struct{}, w.cfg.Concurrency)
	for _, d := range w.devs {
		if d.started {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("connect: %w", ctx.Err())
		}
		d.freeSlot = func() { <-sem }
		d.started = true
		go func() {
			defer close(d.done)
			err := d.c.Run(devCtx)
			if err != nil {
				d.failed.Store(true)
				w.log.WarnContext(devCtx, "device stopped", "error", err)
			}
			d.slot.Do(d.freeSlot)
		}()
	}
	return pollUntil(ctx, 20*time.Millisecond, func() bool {
		synced, failed := w.count(start)
		return synced+failed == len(w.devs)
	})
}

// count returns the devices synced since phase and those that failed.
func (w *worker) count(phase int64) (synced, failed int) {
	for _, d := range w.devs {
		switch {
		case d.failed.Load():
			failed++
		case d.syncedNs.Load() >= phase:
			synced++
		}
	}
	return synced, failed
}

func (w *worker) reset() {
	for _, d := range w.devs {
		d.got.Store(0)
	}
	w.mu.Lock()
	w.hist.Reset()
	w.lastRecv = 0
	w.received.Store(0)
	w.disconnects.Store(0)
	w.mu.Unlock()
}

// fill sets the counts of a reply.
func (w *worker) fill(r *reply, withHist bool) {
	r.PhaseNs = w.phase.Load()
	r.Synced, r.Failed = w.count(r.PhaseNs)
	for _, d := range w.devs {
		if d.readyNs.Load() > 0 {
			r.Ready++
		}
		r.LastReadyNs = max(r.LastReadyNs, d.readyNs.Load())
		r.LastSyncedNs = max(r.LastSyncedNs, d.syncedNs.Load())
		if d.got.Load() > 0 {
			r.DevicesReceived++
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r.Received = w.received.Load()
	r.Disconnects = w.disconnects.Load()
	r.LastRecvNs = w.lastRecv
	if withHist {
		h := w.hist
		r.Hist = &h
	}
}

// stop ends every device and waits for them, at most 15 seconds.
func (w *worker) stop(cancel context.CancelFunc) {
	cancel()
	w.gate.release()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for _, d := range w.devs {
		if !d.started {
			continue
		}
		select {
		case <-d.done:
		case <-deadline.C:
			w.log.Warn("devices still running at exit")
			return
		}
	}
}

// pollUntil calls cond every interval until it holds or ctx ends.
func pollUntil(ctx context.Context, every time.Duration, cond func() bool) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
