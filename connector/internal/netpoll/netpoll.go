// Package netpoll reads many mostly idle connections without a goroutine
// per connection.
//
// A Poller watches its connections with one epoll instance (on Linux) and
// hands each readable connection to one of a fixed set of workers, which
// reads what has arrived into a buffer of its own and passes it to the
// connection's Handler. Readiness is edge-triggered, and a connection that
// is queued or being read is not queued again: an event that comes
// meanwhile makes its worker read once more before it lets go. So a
// Handler's calls never overlap and arrive in order, and a read costs no
// epoll_ctl call. An idle connection costs its registration (some tens of
// bytes) and no goroutine, stack or read buffer.
//
// The epoll instance is itself watched by the Go runtime's poller: while
// nothing is ready, the goroutine that collects events is parked like any
// reader, and no thread sits in epoll_wait. A thread blocked in a system
// call keeps its P until the scheduler's monitor takes it back, and each
// such take-over, like each wake-up from a system call after the process
// was idle, sets the monitor to look again every 20 µs.
//
// Writes are not the Poller's business: the owner writes to the net.Conn
// as usual.
//
// Lifecycle: Add registers a connection; Handler.Data receives its bytes;
// Handler.Closed reports the end of reading (the peer closed, or a read
// failed). The owner calls Registration.Remove, then closes the conn.
// Remove may be called from any goroutine, Data included, and more than
// once; after it returns Closed is not called, and the connection is not
// read again. A worker that read bytes just before may still pass them to
// Data once, so a handler must tolerate a call after its Remove.
//
// On systems without epoll, each connection gets a goroutine that reads
// with blocking calls; the contract is the same.
package netpoll

import (
	"errors"
	"runtime"
	"time"
)

// Handler receives one connection's bytes.
type Handler interface {
	// Data handles bytes read from the connection. p is valid only during
	// the call. Returning false stops reading: the registration is removed
	// and Closed is not called.
	Data(p []byte) bool
	// Closed reports that reading ended: err is io.EOF when the peer
	// closed the connection, else the read error. The registration is
	// removed before the call.
	Closed(err error)
}

// Config sets up a Poller. Zero fields take defaults.
type Config struct {
	// Workers is how many goroutines read ready connections and run their
	// handlers for the Poller's whole life. Default 8 × GOMAXPROCS.
	Workers int
	// MaxWorkers bounds the workers when handlers wait (on a store, say):
	// while connections are ready and no worker finished a turn for 250 ms,
	// one more starts every 250 ms, and ends after ExtraIdle without work.
	// Default 256.
	MaxWorkers int
	// ExtraIdle is how long an extra worker waits for work. Default 5 s.
	ExtraIdle time.Duration
	// ReadBuffer is each worker's read buffer. Default 16 KiB.
	ReadBuffer int
	// MaxReads bounds the reads one readiness event gets before the
	// connection goes back to the end of the line, so that one busy
	// connection does not hold a worker. Default 4.
	MaxReads int
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 8 * runtime.GOMAXPROCS(0)
	}
	if c.MaxWorkers < c.Workers {
		c.MaxWorkers = max(256, c.Workers)
	}
	if c.ExtraIdle <= 0 {
		c.ExtraIdle = 5 * time.Second
	}
	if c.ReadBuffer <= 0 {
		c.ReadBuffer = 16 << 10
	}
	if c.MaxReads <= 0 {
		c.MaxReads = 4
	}
	return c
}

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("netpoll: poller closed")

// ErrUnsupported is returned by Add for a connection that has no file
// descriptor to watch.
var ErrUnsupported = errors.New("netpoll: connection has no pollable descriptor")
