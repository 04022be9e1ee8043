package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"sync/atomic"
	"time"
)

// workerConn is the parent's end of one worker.
type workerConn struct {
	name    string
	stdin   io.WriteCloser
	enc     *json.Encoder
	replies chan reply // closed when the worker's output ends
	exited  chan error // the worker's result, once
	kill    func()
	pid     int // of the worker process; 0 for a goroutine
}

// pool is the set of workers of one run.
type pool struct {
	ws  []*workerConn
	log *slog.Logger
	seq atomic.Uint64 // of the last command sent
}

// startPool starts one worker per entry of sizes (devices per worker):
// processes re-executing exe, or goroutines when exe is empty.
func startPool(ctx context.Context, cfg Config, appKey, server string, sizes []int) (*pool, error) {
	p := &pool{log: cfg.Logger}
	first := 0
	for i, n := range sizes {
		wc := WorkerConfig{
			Server: server, AppKey: appKey, Devices: n, FirstIndex: first,
			SourceAddrs: cfg.SourceAddrs, MaxBackoff: cfg.MaxBackoff, Logger: cfg.Logger,
		}
		if cfg.WorkerCPUProfile != "" {
			wc.CPUProfile = cfg.WorkerCPUProfile + "." + strconv.Itoa(i+1)
		}
		first += n
		name := "worker-" + strconv.Itoa(i+1)
		var w *workerConn
		var err error
		if cfg.InProcess {
			w = startInProcess(ctx, name, wc)
		} else {
			w, err = startProcess(ctx, name, cfg, wc)
		}
		if err != nil {
			p.close(ctx)
			return nil, err
		}
		p.ws = append(p.ws, w)
	}
	return p, nil
}

// workerArgs are the arguments of the hidden worker subcommand.
func workerArgs(wc WorkerConfig) []string {
	return []string{"bench", "worker",
		"--server", wc.Server, "--app-key", wc.AppKey,
		"--devices", strconv.Itoa(wc.Devices), "--first", strconv.Itoa(wc.FirstIndex),
		"--source-addrs", strconv.Itoa(wc.SourceAddrs), "--max-backoff", wc.MaxBackoff.String(),
		"--cpuprofile", wc.CPUProfile}
}

func startProcess(ctx context.Context, name string, cfg Config, wc WorkerConfig) (*workerConn, error) {
	cmd := exec.Command(cfg.Executable, workerArgs(wc)...)
	cmd.Stderr = cfg.Stderr
	setParentDeathSignal(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	w := newWorkerConn(name, stdin)
	w.pid = cmd.Process.Pid
	w.kill = func() { cmd.Process.Kill() } //nolint:errcheck // may have exited
	go func() {
		w.readReplies(stdout)
		w.exited <- cmd.Wait()
	}()
	return w, nil
}

func startInProcess(ctx context.Context, name string, wc WorkerConfig) *workerConn {
	cmdR, cmdW := io.Pipe()
	repR, repW := io.Pipe()
	w := newWorkerConn(name, cmdW)
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.kill = cancel
	done := make(chan error, 1)
	go func() {
		err := RunWorker(wctx, wc, cmdR, repW)
		repW.Close()
		cmdR.Close()
		done <- err
	}()
	go func() {
		w.readReplies(repR)
		w.exited <- <-done
		cancel()
	}()
	return w
}

func newWorkerConn(name string, stdin io.WriteCloser) *workerConn {
	return &workerConn{name: name, stdin: stdin, enc: json.NewEncoder(stdin),
		replies: make(chan reply, 1), exited: make(chan error, 1)}
}

// readReplies decodes replies until the output ends.
func (w *workerConn) readReplies(r io.Reader) {
	defer close(w.replies)
	dec := json.NewDecoder(r)
	for {
		var rep reply
		if err := dec.Decode(&rep); err != nil {
			return
		}
		w.replies <- rep
	}
}

// cpu is the CPU time the worker processes have used so far; false when
// the workers are goroutines of this process, whose CPU is not theirs alone.
func (p *pool) cpu() (time.Duration, bool, error) {
	var sum time.Duration
	for _, w := range p.ws {
		if w.pid == 0 {
			return 0, false, nil
		}
		s, err := ReadProc(w.pid)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", w.name, err)
		}
		sum += s.CPU
	}
	return sum, true, nil
}

// call sends cmd to every worker and collects one reply from each, within
// timeout. A reply carrying an error fails the call.
func (p *pool) call(ctx context.Context, cmd command, timeout time.Duration) ([]reply, error) {
	if cmd.TimeoutMs == 0 && (cmd.Cmd == cmdRegister || cmd.Cmd == cmdConnect) {
		cmd.TimeoutMs = timeout.Milliseconds()
		timeout += 5 * time.Second // the worker's own deadline passes first
	}
	cmd.Seq = p.seq.Add(1)
	for _, w := range p.ws {
		if err := w.enc.Encode(cmd); err != nil {
			return nil, fmt.Errorf("%s: send %s: %w", w.name, cmd.Cmd, err)
		}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	out := make([]reply, 0, len(p.ws))
	var errs []error
	for _, w := range p.ws {
		for answered := false; !answered; {
			select {
			case r, ok := <-w.replies:
				if !ok {
					return nil, fmt.Errorf("%s exited during %s", w.name, cmd.Cmd)
				}
				if r.Seq != cmd.Seq {
					continue // the late answer to a call that gave up
				}
				if r.Error != "" {
					errs = append(errs, fmt.Errorf("%s: %s: %s", w.name, cmd.Cmd, r.Error))
				}
				out, answered = append(out, r), true
			case <-t.C:
				return nil, fmt.Errorf("%s: no answer to %s within %s", w.name, cmd.Cmd, timeout)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return out, errors.Join(errs...)
}

// close asks every worker to quit and waits for them, at most 30 seconds,
// then kills those left.
func (p *pool) close(ctx context.Context) {
	for _, w := range p.ws {
		w.enc.Encode(command{Cmd: cmdQuit}) //nolint:errcheck // it may be gone
		w.stdin.Close()
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for _, w := range p.ws {
		if !w.wait(deadline.C) {
			p.log.WarnContext(ctx, "bench worker did not stop; killing it", "worker", w.name)
			w.kill()
			continue
		}
		select {
		case err := <-w.exited:
			if err != nil {
				p.log.WarnContext(ctx, "bench worker failed", "worker", w.name, "error", err)
			}
		case <-deadline.C:
			w.kill()
		}
	}
	for _, w := range p.ws {
		w.kill()
	}
}

// wait waits until the worker's output ends (dropping replies nobody asked
// for) or the deadline fires; false on the deadline.
func (w *workerConn) wait(deadline <-chan time.Time) bool {
	for {
		select {
		case _, ok := <-w.replies:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}
