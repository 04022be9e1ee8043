//go:build unix

package connector

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// rawWriter writes to a socket without waiting and without a write
// deadline, which costs a timer update per write. Its callback is made
// once, so a write allocates nothing. One goroutine at a time.
type rawWriter struct {
	rc   syscall.RawConn
	fn   func(fd uintptr) bool
	b    []byte
	n    int
	werr error
}

func newRawWriter(rc syscall.RawConn) *rawWriter {
	w := &rawWriter{rc: rc}
	w.fn = w.write
	return w
}

func (w *rawWriter) write(fd uintptr) bool {
	for {
		w.n, w.werr = unix.Write(int(fd), w.b)
		if w.werr != unix.EINTR {
			return true // never wait here
		}
	}
}

// writeNow writes as much of b as the socket takes at once: with a full
// send buffer it writes less, or nothing, and returns no error. A write
// that would wait is left to the caller. The error is the socket's, or the
// conn's when it is closed or its write deadline passed.
func (w *rawWriter) writeNow(b []byte) (int, error) {
	w.b, w.n, w.werr = b, 0, nil
	err := w.rc.Write(w.fn)
	w.b = nil
	if err != nil {
		return 0, err
	}
	n, werr := w.n, w.werr
	if n < 0 {
		n = 0
	}
	if werr == unix.EAGAIN {
		werr = nil
	}
	return n, werr
}
