//go:build !unix

package connector

import "syscall"

// rawWriter writes nothing on systems without the raw write; the caller
// writes all of b with a deadline.
type rawWriter struct{}

func newRawWriter(syscall.RawConn) *rawWriter { return nil }

func (*rawWriter) writeNow([]byte) (int, error) { return 0, nil }
