//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watched are the events a connection waits for, edge-triggered: epoll
// reports new bytes once, and the Registration's state (below) makes sure
// one worker at a time reads it, without an epoll_ctl call per read.
const watched = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET

// A Registration's state. An event for an idle one queues it; an event for
// a busy one (queued, or being read) marks it again, and the worker that
// reads it reads once more before it lets go.
const (
	stateIdle uint32 = iota
	stateBusy
	stateAgain
)

// Poller watches connections with epoll; see the package comment.
type Poller struct {
	cfg Config
	// epfd is ep's descriptor, kept for epoll_ctl: ep.Fd() would put the
	// descriptor back into blocking mode.
	epfd int
	ep   *os.File        // epfd, watched by the Go runtime's own poller
	eprc syscall.RawConn // ep's, for the wait loop
	wake int             // eventfd that ends the wait loop on Close

	mu     sync.RWMutex
	byFD   []*Registration // by file descriptor; a slot may hold a stale one
	closed bool
	gen    uint32 // last generation handed out, under mu

	work     chan *Registration
	idle     atomic.Int32 // workers waiting for work
	workers  atomic.Int32 // workers running, the permanent ones included
	progress atomic.Int64 // unix ns when a worker last finished a turn
	spawned  atomic.Int64 // unix ns when the last extra worker started
	wg       sync.WaitGroup
}

// Registration is a connection added to a Poller.
type Registration struct {
	p   *Poller
	fd  int
	gen uint32 // tells this registration from a later one on the same fd
	rc  syscall.RawConn
	h   Handler

	state atomic.Uint32
	hup   atomic.Bool // the peer closed or the socket failed: a short read does not mean drained

	mu      sync.Mutex // orders Remove against arm
	removed atomic.Bool
}

// New starts a Poller: its wait loop and workers run until Close.
func New(cfg Config) (*Poller, error) {
	cfg = cfg.withDefaults()
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd) //nolint:errcheck // failing anyway
		return nil, fmt.Errorf("netpoll: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(wake) //nolint:errcheck // failing anyway
		unix.Close(epfd) //nolint:errcheck // failing anyway
		return nil, fmt.Errorf("netpoll: watch eventfd: %w", err)
	}
	// The epoll fd is itself pollable: it reads as ready while any of its
	// connections is. Handed to the runtime's poller, the wait loop parks
	// like any goroutine waiting to read instead of holding a thread (and,
	// until the scheduler takes it back, a P) in a blocking epoll_wait.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(wake) //nolint:errcheck // failing anyway
		unix.Close(epfd) //nolint:errcheck // failing anyway
		return nil, fmt.Errorf("netpoll: epoll fd: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "netpoll")
	eprc, err := ep.SyscallConn()
	if err != nil {
		unix.Close(wake) //nolint:errcheck // failing anyway
		ep.Close()       //nolint:errcheck // failing anyway
		return nil, fmt.Errorf("netpoll: epoll fd: %w", err)
	}
	p := &Poller{cfg: cfg, epfd: epfd, ep: ep, eprc: eprc, wake: wake, work: make(chan *Registration, 4096)}
	p.progress.Store(time.Now().UnixNano())
	p.wg.Add(1)
	go p.wait()
	for range cfg.Workers {
		p.startWorker(false)
	}
	return p, nil
}

// Add watches conn and passes what it reads to h. conn must be a
// connection with a file descriptor (a *net.TCPConn or *net.UnixConn);
// its read deadline is not used.
func (p *Poller) Add(conn net.Conn, h Handler) (*Registration, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, ErrUnsupported
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	r := &Registration{p: p, rc: rc, h: h}
	var addErr error
	err = rc.Control(func(fd uintptr) {
		r.fd = int(fd)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			addErr = ErrClosed
			return
		}
		p.gen++
		r.gen = p.gen
		for len(p.byFD) <= r.fd {
			p.byFD = append(p.byFD, nil)
		}
		p.byFD[r.fd] = r
		ev := unix.EpollEvent{Events: watched, Fd: int32(r.fd), Pad: int32(r.gen)}
		if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, r.fd, &ev); err != nil {
			p.byFD[r.fd] = nil
			addErr = fmt.Errorf("netpoll: epoll_ctl add: %w", err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	if addErr != nil {
		return nil, addErr
	}
	return r, nil
}

// Remove stops watching the connection; see the package comment. Call it
// before closing the connection.
func (r *Registration) Remove() {
	r.mu.Lock()
	if r.removed.Load() {
		r.mu.Unlock()
		return
	}
	r.removed.Store(true)
	r.mu.Unlock()
	// Control holds the fd open for the call. When the conn is closed
	// already it fails and is skipped: closing dropped the fd from the
	// epoll set, and its number may belong to another connection now.
	r.rc.Control(func(fd uintptr) { //nolint:errcheck // see above
		unix.EpollCtl(r.p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil) //nolint:errcheck // ENOENT: gone already
	})
	p := r.p
	p.mu.Lock()
	if r.fd < len(p.byFD) && p.byFD[r.fd] == r {
		p.byFD[r.fd] = nil
	}
	p.mu.Unlock()
}

// Close stops the wait loop and the workers. Registered connections are
// left open and are no longer read.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	if _, err := unix.Write(p.wake, one); err != nil {
		return fmt.Errorf("netpoll: wake: %w", err)
	}
	p.wg.Wait()
	unix.Close(p.wake) //nolint:errcheck // nothing uses it any more
	return p.ep.Close()
}

// wait collects readiness events and queues their connections for the
// workers. While nothing is ready it is parked in the Go runtime's poller,
// which watches the epoll fd.
func (p *Poller) wait() {
	defer p.wg.Done()
	defer close(p.work)
	events := make([]unix.EpollEvent, 256)
	ready := make([]*Registration, 0, len(events))
	deadline := false
	for {
		// While connections wait in the queue, look again every
		// stuckAfter: their workers may all be waiting in handlers.
		if len(p.work) > 0 {
			p.ep.SetReadDeadline(time.Now().Add(stuckAfter)) //nolint:errcheck // ep is open until wait returns
			deadline = true
		} else if deadline {
			p.ep.SetReadDeadline(time.Time{}) //nolint:errcheck // as above
			deadline = false
		}
		var n int
		var werr error
		err := p.eprc.Read(func(fd uintptr) bool {
			n, werr = pollNow(int(fd), events)
			return n > 0 || werr != nil // park only on an empty answer
		})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			p.growIfStuck()
			continue
		}
		if errors.Is(werr, unix.EINTR) {
			continue
		}
		if err != nil || werr != nil {
			return // the epoll fd is gone: nothing more can be watched
		}
		if len(p.work) > 0 {
			p.growIfStuck()
		}
		ready = ready[:0]
		stop := false
		p.mu.RLock()
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			switch {
			case ev.Fd < 0:
				stop = true // woken by Close
			case fd < len(p.byFD):
				r := p.byFD[fd]
				if r == nil || r.gen != uint32(ev.Pad) {
					break
				}
				if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
					r.hup.Store(true)
				}
				if r.take() {
					ready = append(ready, r)
				}
			}
		}
		p.mu.RUnlock()
		if stop {
			return
		}
		// Sent outside the lock: a full queue waits for workers, and a
		// worker's handler may be removing a registration.
		for _, r := range ready {
			p.enqueue(r)
		}
		clear(ready)
	}
}

// enqueue hands r to the workers. While the queue is full it keeps
// checking, every stuckAfter, whether the workers all wait in handlers.
func (p *Poller) enqueue(r *Registration) {
	p.growIfStuck()
	select {
	case p.work <- r:
		return
	default:
	}
	t := time.NewTimer(stuckAfter)
	defer t.Stop()
	for {
		select {
		case p.work <- r:
			return
		case <-t.C:
			p.growIfStuck()
			t.Reset(stuckAfter)
		}
	}
}

// worker drains ready connections until the wait loop ends. Handlers may
// wait (on a store, say) and hold their worker: when none is free, the wait
// loop starts an extra one, up to MaxWorkers, so that one slow dependency
// does not stop every session from being read.
func (p *Poller) worker(extra bool) {
	defer p.wg.Done()
	defer p.workers.Add(-1)
	buf := make([]byte, p.cfg.ReadBuffer)
	var idleFor <-chan time.Time
	var t *time.Timer
	if extra {
		t = time.NewTimer(p.cfg.ExtraIdle)
		defer t.Stop()
		idleFor = t.C
	}
	for {
		p.idle.Add(1)
		select {
		case r, ok := <-p.work:
			p.idle.Add(-1)
			if !ok {
				return
			}
			p.serve(r, buf)
			p.progress.Store(time.Now().UnixNano())
			if t != nil {
				t.Reset(p.cfg.ExtraIdle)
			}
		case <-idleFor:
			p.idle.Add(-1)
			return // an extra worker that found nothing to do
		}
	}
}

// Workers returns how many workers run, extra ones included.
func (p *Poller) Workers() int { return int(p.workers.Load()) }

// stuckAfter is how long every worker may be busy without one finishing a
// turn before the wait loop takes them for waiting (on a store, say) and
// starts another; and how often it starts one. Turns take microseconds,
// or milliseconds on a starved CPU, where more workers would not help.
const stuckAfter = 250 * time.Millisecond

// growIfStuck starts an extra worker when ready connections should get
// one: none is free, none finished a turn lately, none was started lately,
// and there is room for one.
func (p *Poller) growIfStuck() {
	now := time.Now().UnixNano()
	if p.idle.Load() == 0 &&
		now-p.progress.Load() > int64(stuckAfter) &&
		now-p.spawned.Load() > int64(stuckAfter) &&
		int(p.workers.Load()) < p.cfg.MaxWorkers {
		p.startWorker(true)
	}
}

// startWorker starts a worker; an extra one ends after ExtraIdle without
// work.
func (p *Poller) startWorker(extra bool) {
	if extra {
		p.spawned.Store(time.Now().UnixNano())
	}
	p.workers.Add(1)
	p.wg.Add(1)
	go p.worker(extra)
}

// take notes a readiness event; true when r was idle and is now the
// caller's to queue.
func (r *Registration) take() bool {
	for {
		switch st := r.state.Load(); st {
		case stateIdle:
			if r.state.CompareAndSwap(stateIdle, stateBusy) {
				return true
			}
		case stateBusy:
			if r.state.CompareAndSwap(stateBusy, stateAgain) {
				return false
			}
		default:
			return false
		}
	}
}

// serve reads r until it has nothing more, its handler stops it, or the
// reads of one turn are used up.
func (p *Poller) serve(r *Registration, buf []byte) {
	for range p.cfg.MaxReads {
		if r.isRemoved() {
			return
		}
		// Readiness noted before this read is what it reads.
		r.state.Store(stateBusy)
		n, err := r.read(buf)
		switch {
		case n > 0:
			if !r.h.Data(buf[:n]) {
				r.Remove()
				return
			}
			// A short read took every byte there was: later bytes raise a
			// new event. A full one may have left some, and one after the
			// peer closed leaves the end of the stream to read.
			if n < len(buf) && !r.hup.Load() && r.release() {
				return
			}
		case err == unix.EAGAIN:
			if r.release() {
				return
			}
		case err == nil: // a read of 0 bytes: the peer closed
			r.end(io.EOF)
			return
		default:
			r.end(err)
			return
		}
	}
	// The turn is used up and bytes may be left, which raise no new event:
	// let go, and have epoll look at the connection again.
	r.state.Store(stateIdle)
	r.arm()
}

// release lets go of r after it was read empty; false when an event came
// meanwhile, and r must be read again.
func (r *Registration) release() bool {
	return r.state.CompareAndSwap(stateBusy, stateIdle)
}

// read reads once without waiting.
func (r *Registration) read(buf []byte) (int, error) {
	var n int
	var rerr error
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = unix.Read(int(fd), buf)
			if rerr != unix.EINTR {
				return true // never wait: readiness comes from epoll
			}
		}
	})
	if err != nil {
		return 0, err // the conn was closed
	}
	if n < 0 {
		n = 0
	}
	return n, rerr
}

// arm has epoll check the connection again, unless it was removed: it
// reports the connection at once if bytes wait.
func (r *Registration) arm() {
	var armErr error
	// Control holds the fd open for the call, so a concurrent close cannot
	// hand its number to another connection while it is armed.
	err := r.rc.Control(func(fd uintptr) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.removed.Load() {
			return
		}
		ev := unix.EpollEvent{Events: watched, Fd: int32(fd), Pad: int32(r.gen)}
		if err := unix.EpollCtl(r.p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev); err != nil {
			armErr = fmt.Errorf("netpoll: epoll_ctl mod: %w", err)
		}
	})
	if err == nil {
		err = armErr
	}
	if err != nil {
		r.end(err) // closed under us, or cannot be watched: reading is over
	}
}

// end removes the registration and reports why reading ended, unless the
// owner removed it first.
func (r *Registration) end(err error) {
	if r.removed.Load() {
		return
	}
	r.Remove()
	r.h.Closed(err)
}

func (r *Registration) isRemoved() bool { return r.removed.Load() }

// pollNow takes the ready events without waiting. A raw system call: it
// never blocks, so the scheduler need not prepare for a thread that might.
func pollNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
