//go:build linux

package node

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Accepted connections carry no kernel keepalive, and still no Nagle delay.
func TestListenWithoutKeepalive(t *testing.T) {
	ln, err := listen("127.0.0.1:0")
	require.NoError(t, err)
	conn := acceptOne(t, ln)
	require.Equal(t, 0, sockopt(t, conn, unix.SOL_SOCKET, unix.SO_KEEPALIVE))
	require.Equal(t, 1, sockopt(t, conn, unix.IPPROTO_TCP, unix.TCP_NODELAY))

	// A plain listener's would have it, so the check above means something.
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.Equal(t, 1, sockopt(t, acceptOne(t, plain), unix.SOL_SOCKET, unix.SO_KEEPALIVE))
}

// acceptOne dials ln and returns the accepted end; the test closes both,
// and ln.
func acceptOne(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	t.Cleanup(func() { ln.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	conn, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func sockopt(t *testing.T, conn net.Conn, level, name int) int {
	t.Helper()
	rc, err := conn.(syscall.Conn).SyscallConn()
	require.NoError(t, err)
	var v int
	var gerr error
	require.NoError(t, rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, name) }))
	require.NoError(t, gerr)
	return v
}
