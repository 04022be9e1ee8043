//go:build unix

package client

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The default dialer leaves kernel keepalive probes off: the session's
// heartbeat finds a dead connection, and the probes would cost system calls
// per connection and wake a mobile radio.
func TestDefaultDialerHasNoKeepalive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c := New(Config{}, State{})
	conn, err := c.cfg.NetDialContext(t.Context(), "tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	rc, err := conn.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	var on int
	var gerr error
	require.NoError(t, rc.Control(func(fd uintptr) {
		on, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
	}))
	require.NoError(t, gerr)
	require.Zero(t, on, "SO_KEEPALIVE is set")
}
