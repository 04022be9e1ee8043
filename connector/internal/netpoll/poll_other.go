//go:build !linux

package netpoll

import (
	"net"
	"sync"
)

// Poller reads each connection with a goroutine of its own, on systems
// without epoll.
type Poller struct {
	cfg    Config
	mu     sync.Mutex
	closed bool
}

// Registration is a connection added to a Poller.
type Registration struct {
	conn net.Conn
	h    Handler

	mu      sync.Mutex
	removed bool
}

// New returns a Poller.
func New(cfg Config) (*Poller, error) {
	return &Poller{cfg: cfg.withDefaults()}, nil
}

// Add starts reading conn and passing what it reads to h.
func (p *Poller) Add(conn net.Conn, h Handler) (*Registration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	r := &Registration{conn: conn, h: h}
	go r.loop(p.cfg.ReadBuffer)
	return r, nil
}

func (r *Registration) loop(size int) {
	buf := make([]byte, min(size, 4<<10))
	for {
		n, err := r.conn.Read(buf)
		if n > 0 {
			if r.isRemoved() {
				return
			}
			if !r.h.Data(buf[:n]) {
				r.Remove()
				return
			}
		}
		if err != nil {
			if r.isRemoved() {
				return
			}
			r.Remove()
			r.h.Closed(err) // io.EOF when the peer closed
			return
		}
	}
}

// Remove stops passing data to the handler.
func (r *Registration) Remove() {
	r.mu.Lock()
	r.removed = true
	r.mu.Unlock()
}

func (r *Registration) isRemoved() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.removed
}

// Workers returns 0: each connection has a reader of its own.
func (p *Poller) Workers() int { return 0 }

// Close stops accepting connections; running readers end with their
// connections.
func (p *Poller) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return nil
}
