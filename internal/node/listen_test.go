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
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	conn, err := ln.Accept()
	require.NoError(t, err)
	defer conn.Close()

	opt := func(conn net.Conn, level, name int) int {
		rc, err := conn.(syscall.Conn).SyscallConn()
		require.NoError(t, err)
		var v int
		var gerr error
		require.NoError(t, rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, name) }))
		require.NoError(t, gerr)
		return v
	}
	require.Equal(t, 0, opt(conn, unix.SOL_SOCKET, unix.SO_KEEPALIVE))
	require.Equal(t, 1, opt(conn, unix.IPPROTO_TCP, unix.TCP_NODELAY))

	// A plain listener's would have it, so the check above means something.
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer plain.Close()
	c2, err := net.Dial("tcp", plain.Addr().String())
	require.NoError(t, err)
	defer c2.Close()
	conn2, err := plain.Accept()
	require.NoError(t, err)
	defer conn2.Close()
	require.Equal(t, 1, opt(conn2, unix.SOL_SOCKET, unix.SO_KEEPALIVE))
}
