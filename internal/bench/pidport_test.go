package bench

import (
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

const tcpFixture = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 214180 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000  1000        0 214999 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1126 1 0000000000000000 100 0 0 10 0
   3: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 0 1 0000000000000000 100 0 0 10 0
`

func TestParseListenInodes(t *testing.T) {
	t.Parallel()
	got, err := ParseListenInodes(tcpFixture, 8080)
	require.NoError(t, err)
	require.Equal(t, []uint64{214180}, got, "the established connection on the same port is not a listener")

	got, err = ParseListenInodes(tcpFixture, 22)
	require.NoError(t, err)
	require.Equal(t, []uint64{1126}, got)

	got, err = ParseListenInodes(tcpFixture, 8081)
	require.NoError(t, err)
	require.Empty(t, got, "inode 0 is not a socket of this namespace")

	_, err = ParseListenInodes("header\n   0: 0100007F:ZZZZ 00000000:0000 0A 0 0 0 0 0 1 1\n", 1)
	require.Error(t, err)
}

func TestPIDByPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	pid, err := PIDByPort(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, err)
	require.Equal(t, os.Getpid(), pid)
}

func TestPIDByPortNoListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	_, err = PIDByPort(port)
	require.ErrorIs(t, err, ErrNoListener)
}
