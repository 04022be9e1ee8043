package testsrv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"
)

// daemon is the lifecycle every server a test starts shares: one process at
// a time on a fixed address and directory, started on a free port, killed
// as a crash would, restarted in place, closed once. Redis and Mongo embed
// it and supply run, which starts their own command and waits for it.
type daemon struct {
	name        string        // for error messages
	dir         string        // the server's directory, removed by Close
	stopTimeout time.Duration // how long Close waits after SIGTERM
	// run starts the server on the current address with spawn and waits
	// until it answers. mu is held.
	run func() error

	mu     sync.Mutex
	proc   *process // nil while the server is down
	closed bool
}

// launch picks a free port, lets at set the address from it, and starts
// the server, trying another port when the picked one was taken in between.
func (d *daemon) launch(attempts int, at func(port int)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	for range attempts {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		at(port)
		if err = d.run(); err == nil || !errors.Is(err, errAddrInUse) {
			return err
		}
	}
	return err
}

// spawn runs bin with args, keeps the last tail bytes of its output, waits
// for ready, and makes it the running process. mu is held.
func (d *daemon) spawn(bin string, args []string, tail int, ready func(*process) error) error {
	out := &tailBuffer{max: tail}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", d.name, err)
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := ready(p); err != nil {
		p.kill()
		return err
	}
	d.proc = p
	return nil
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("pick a port: %w", err)
	}
	return port, nil
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it to
// exit. Clients see their connections drop; the directory stays. Killing a
// stopped server does nothing.
func (d *daemon) Kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc != nil {
		d.proc.kill()
		d.proc = nil
	}
}

// Restart kills the server if it runs and starts it again on the same
// address and directory.
func (d *daemon) Restart() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("testsrv: %s is closed", d.name)
	}
	if d.proc != nil {
		d.proc.kill()
		d.proc = nil
	}
	return d.run()
}

// Running reports whether the server process is up.
func (d *daemon) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.proc != nil
}

// Output returns the last lines the running server logged, for failure
// messages; "" when it is down.
func (d *daemon) Output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc == nil {
		return ""
	}
	return d.proc.out.String()
}

// Close stops the server (SIGTERM, then SIGKILL after stopTimeout) and
// removes its directory. It is safe to call more than once.
func (d *daemon) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var stopErr error
	if p := d.proc; p != nil {
		d.proc = nil
		stopErr = p.stop(d.name, d.stopTimeout)
	}
	if err := os.RemoveAll(d.dir); err != nil {
		return errors.Join(stopErr, fmt.Errorf("remove %s dir: %w", d.name, err))
	}
	return stopErr
}

// stop asks the process to exit and kills it after grace.
func (p *process) stop(name string, grace time.Duration) error {
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		p.kill()
		return nil
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s exit: %w; output: %s", name, p.err, p.out)
		}
		return nil
	case <-timer.C:
		p.kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM; output: %s", name, grace, p.out)
	}
}
