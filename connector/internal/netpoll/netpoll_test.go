package netpoll

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a Handler that keeps what it reads and checks that its
// calls never overlap.
type recorder struct {
	mu       sync.Mutex
	got      bytes.Buffer
	closed   []error
	inFlight atomic.Int32
	overlap  atomic.Bool
	stopAt   int // Data returns false once this many bytes arrived; 0: never
	changed  chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) Data(p []byte) bool {
	if r.inFlight.Add(1) > 1 {
		r.overlap.Store(true)
	}
	defer r.inFlight.Add(-1)
	r.mu.Lock()
	r.got.Write(p)
	more := r.stopAt == 0 || r.got.Len() < r.stopAt
	r.mu.Unlock()
	r.notify()
	return more
}

func (r *recorder) Closed(err error) {
	r.mu.Lock()
	r.closed = append(r.closed, err)
	r.mu.Unlock()
	r.notify()
}

func (r *recorder) notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// waitFor waits, at most 10 s, until cond holds under r.mu.
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func newPoller(t *testing.T, cfg Config) *Poller {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// pairs returns n connected TCP pairs on 127.0.0.1: the server sides and
// the client sides.
func pairs(t *testing.T, n int) (srv, cli []net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); s.Close() })
		srv, cli = append(srv, s), append(cli, c)
	}
	return srv, cli
}

func TestManyConnectionsInOrder(t *testing.T) {
	p := newPoller(t, Config{Workers: 4, ReadBuffer: 512, MaxReads: 2})
	const conns, msgs = 50, 40
	srv, cli := pairs(t, conns)
	recs := make([]*recorder, conns)
	for i, s := range srv {
		recs[i] = newRecorder()
		if _, err := p.Add(s, recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	want := make([]bytes.Buffer, conns)
	var wg sync.WaitGroup
	for i, c := range cli {
		for m := range msgs {
			fmt.Fprintf(&want[i], "conn %d message %d %s|", i, m, bytes.Repeat([]byte{'x'}, m*37))
		}
		wg.Go(func() {
			b := want[i].Bytes()
			for len(b) > 0 { // in uneven pieces, so reads split messages
				k := min(len(b), 1+len(b)%700)
				if _, err := c.Write(b[:k]); err != nil {
					t.Error(err)
					return
				}
				b = b[k:]
			}
		})
	}
	wg.Wait()
	for i, r := range recs {
		r.waitFor(t, fmt.Sprintf("conn %d's bytes", i), func() bool { return r.got.Len() >= want[i].Len() })
		if !bytes.Equal(r.got.Bytes(), want[i].Bytes()) {
			t.Fatalf("conn %d: bytes differ from what was written", i)
		}
		if r.overlap.Load() {
			t.Fatalf("conn %d: overlapping Data calls", i)
		}
	}
}

func TestPeerCloseReportsEOFOnce(t *testing.T) {
	p := newPoller(t, Config{Workers: 2})
	srv, cli := pairs(t, 1)
	r := newRecorder()
	if _, err := p.Add(srv[0], r); err != nil {
		t.Fatal(err)
	}
	if _, err := cli[0].Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	cli[0].Close()
	r.waitFor(t, "Closed", func() bool { return len(r.closed) > 0 })
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got.String() != "bye" || len(r.closed) != 1 || !errors.Is(r.closed[0], io.EOF) {
		t.Fatalf("got %q, closed %v; want \"bye\" and one io.EOF", r.got.String(), r.closed)
	}
}

func TestDataFalseStopsReading(t *testing.T) {
	p := newPoller(t, Config{Workers: 2})
	srv, cli := pairs(t, 1)
	r := newRecorder()
	r.stopAt = 1
	if _, err := p.Add(srv[0], r); err != nil {
		t.Fatal(err)
	}
	if _, err := cli[0].Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "first byte", func() bool { return r.got.Len() == 1 })
	if _, err := cli[0].Write([]byte("b")); err != nil {
		t.Fatal(err)
	}
	cli[0].Close()
	// The bytes stay unread in the socket: read them here, proving the
	// poller left them alone.
	srv[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(srv[0])
	if err != nil || string(rest) != "b" {
		t.Fatalf("left in the socket: %q, %v; want \"b\"", rest, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got.String() != "a" || len(r.closed) != 0 {
		t.Fatalf("handler got %q and %d Closed calls after stopping", r.got.String(), len(r.closed))
	}
}

// A removed registration's descriptor number is reused by the next
// connection; the new one gets its own bytes and the old handler nothing.
func TestRemoveThenReuseDescriptor(t *testing.T) {
	p := newPoller(t, Config{Workers: 2})
	for round := range 20 {
		srv, cli := pairs(t, 1)
		old := newRecorder()
		reg, err := p.Add(srv[0], old)
		if err != nil {
			t.Fatal(err)
		}
		reg.Remove()
		reg.Remove() // more than once is fine
		srv[0].Close()
		cli[0].Close()

		srv2, cli2 := pairs(t, 1)
		fresh := newRecorder()
		if _, err := p.Add(srv2[0], fresh); err != nil {
			t.Fatal(err)
		}
		if _, err := cli2[0].Write([]byte("new")); err != nil {
			t.Fatal(err)
		}
		fresh.waitFor(t, "the new connection's bytes", func() bool { return fresh.got.Len() == 3 })
		old.mu.Lock()
		if old.got.Len() != 0 || len(old.closed) != 0 {
			t.Fatalf("round %d: removed handler called: %q, %v", round, old.got.String(), old.closed)
		}
		old.mu.Unlock()
	}
}

func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	p := newPoller(t, Config{Workers: 3})
	before := runtime.NumGoroutine()
	srv, _ := pairs(t, 500)
	for _, s := range srv {
		if _, err := p.Add(s, newRecorder()); err != nil {
			t.Fatal(err)
		}
	}
	if d := runtime.NumGoroutine() - before; d > 5 {
		t.Fatalf("500 idle connections added %d goroutines", d)
	}
}

func TestAddAfterClose(t *testing.T) {
	p, err := New(Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	srv, _ := pairs(t, 1)
	if _, err := p.Add(srv[0], newRecorder()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v, want ErrClosed", err)
	}
	if _, err := p.Add(pipeConn{}, newRecorder()); !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrClosed) {
		t.Fatalf("Add of a pipe: %v", err)
	}
}

// pipeConn is a net.Conn without a file descriptor.
type pipeConn struct{ net.Conn }

// Connections removed and closed while their peers keep writing: no
// Closed after Remove, no read after close, and the race detector is
// watching.
func TestRemoveWhileReading(t *testing.T) {
	p := newPoller(t, Config{Workers: 4, ReadBuffer: 64, MaxReads: 1})
	const conns = 40
	srv, cli := pairs(t, conns)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, c := range cli {
		wg.Go(func() {
			for i := 0; i < 2000; i++ { // bounded
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Write([]byte("0123456789")); err != nil {
					return // the server side closed
				}
			}
		})
	}
	recs := make([]*recorder, conns)
	regs := make([]*Registration, conns)
	for i, s := range srv {
		recs[i] = newRecorder()
		r, err := p.Add(s, recs[i])
		if err != nil {
			t.Fatal(err)
		}
		regs[i] = r
	}
	for i, s := range srv {
		recs[i].waitFor(t, "some bytes", func() bool { return recs[i].got.Len() > 0 })
		regs[i].Remove()
		s.Close()
	}
	close(stop)
	wg.Wait()
	for i, r := range recs {
		r.mu.Lock()
		if len(r.closed) != 0 {
			t.Errorf("conn %d: Closed after Remove: %v", i, r.closed)
		}
		r.mu.Unlock()
	}
}

// blocker is a Handler whose first Data call waits until released.
type blocker struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blocker) Data([]byte) bool {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return true
}

func (b *blocker) Closed(error) {}

// A handler that waits holds its worker; others' bytes are still read,
// by an extra worker, and the extra worker goes away once idle.
func TestWaitingHandlerDoesNotStopOthers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("without epoll every connection has a reader of its own")
	}
	p := newPoller(t, Config{Workers: 1, ExtraIdle: 50 * time.Millisecond})
	srv, cli := pairs(t, 2)
	b := &blocker{entered: make(chan struct{}), release: make(chan struct{})}
	var released sync.Once
	release := func() { released.Do(func() { close(b.release) }) }
	t.Cleanup(release) // before the poller closes, even on failure
	if _, err := p.Add(srv[0], b); err != nil {
		t.Fatal(err)
	}
	other := newRecorder()
	if _, err := p.Add(srv[1], other); err != nil {
		t.Fatal(err)
	}
	if _, err := cli[0].Write([]byte("block")); err != nil {
		t.Fatal(err)
	}
	<-b.entered // the only permanent worker now waits in the handler
	if _, err := cli[1].Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	other.waitFor(t, "the other connection's bytes", func() bool { return other.got.String() == "hello" })
	if n := p.Workers(); n < 2 {
		t.Fatalf("%d workers, want an extra one", n)
	}
	release()
	deadline := time.Now().Add(10 * time.Second)
	for p.Workers() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers left after the extra ones idled", p.Workers())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gated is a recorder whose first Data call waits until the test opens the
// gate, so that bytes can arrive while the connection is being read.
type gated struct {
	*recorder
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (g *gated) Data(p []byte) bool {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		<-g.gate
	}
	return g.recorder.Data(p)
}

// Bytes that arrive while a worker is still handling the last read raise
// no new readiness of their own with edge-triggered epoll: the worker must
// read again before it lets go, or they wait for bytes that never come.
func TestBytesArrivingDuringDataAreRead(t *testing.T) {
	p := newPoller(t, Config{Workers: 2})
	srv, cli := pairs(t, 1)
	g := &gated{recorder: newRecorder(), entered: make(chan struct{}), gate: make(chan struct{})}
	reg, err := p.Add(srv[0], g)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli[0].Write([]byte("first|")); err != nil {
		t.Fatal(err)
	}
	<-g.entered
	if _, err := cli[0].Write([]byte("second|")); err != nil {
		t.Fatal(err)
	}
	// Let the handler return only once the poller has seen the second
	// write's readiness and marked the busy connection for another read.
	deadline := time.Now().Add(10 * time.Second)
	for reg.state.Load() != stateAgain && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(g.gate)
	g.waitFor(t, "both writes", func() bool { return g.got.String() == "first|second|" })
}

// While nothing is ready, the wait loop is parked in the Go runtime's
// poller ("IO wait"), not blocked in a system call on a thread of its own
// ("syscall"), which the scheduler would have to take its P back from.
func TestWaitLoopParksInRuntimePoller(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only the epoll poller has a wait loop")
	}
	p := newPoller(t, Config{Workers: 1})
	srv, cli := pairs(t, 1)
	r := newRecorder()
	if _, err := p.Add(srv[0], r); err != nil {
		t.Fatal(err)
	}
	if _, err := cli[0].Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "the byte", func() bool { return r.got.String() == "x" })
	deadline := time.Now().Add(10 * time.Second)
	for {
		state := waitLoopState(t)
		if state == "IO wait" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wait loop is in state %q, want IO wait", state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLoopState returns the scheduling state of the goroutine running
// Poller.wait, as a goroutine dump prints it.
func waitLoopState(t *testing.T) string {
	t.Helper()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if !bytes.Contains(g, []byte("netpoll.(*Poller).wait(")) {
			continue
		}
		head, _, _ := bytes.Cut(g, []byte("\n"))
		_, state, ok := bytes.Cut(head, []byte(" ["))
		if !ok {
			t.Fatalf("unexpected goroutine header %q", head)
		}
		state, _, _ = bytes.Cut(state, []byte("]"))
		state, _, _ = bytes.Cut(state, []byte(",")) // "IO wait, 2 minutes"
		return string(state)
	}
	t.Fatal("no goroutine runs Poller.wait")
	return ""
}
