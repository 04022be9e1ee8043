package testsrv

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStartRedisAnswersOnBothListeners(t *testing.T) {
	t.Parallel()
	r := StartRedis(t)
	require.NoError(t, ping("unix", r.Socket))
	require.NoError(t, ping("tcp", r.Addr))
	host, _, err := net.SplitHostPort(r.Addr)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)
	require.True(t, r.Running())
}

func TestRedisKillAndRestart(t *testing.T) {
	t.Parallel()
	r := StartRedis(t)
	addr, sock := r.Addr, r.Socket

	r.Kill()
	require.False(t, r.Running())
	require.Error(t, ping("tcp", addr))
	r.Kill() // a second kill is harmless

	require.NoError(t, r.Restart())
	require.Equal(t, addr, r.Addr)
	require.Equal(t, sock, r.Socket)
	require.NoError(t, ping("tcp", r.Addr))
	require.NoError(t, ping("unix", r.Socket))

	require.NoError(t, r.Restart()) // restart of a running server
	require.NoError(t, ping("tcp", r.Addr))
}

func TestRedisCloseRemovesDir(t *testing.T) {
	t.Parallel()
	r, err := LaunchRedis()
	if err != nil {
		if InCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	require.NoError(t, r.Close())
	require.NoError(t, r.Close())
	_, err = os.Stat(r.dir)
	require.True(t, os.IsNotExist(err))
	require.Error(t, r.Restart())
}

func TestRedisMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := LaunchRedis()
	require.ErrorIs(t, err, ErrNoRedisServer)
}

func TestPoll(t *testing.T) {
	t.Parallel()
	n := 0
	require.True(t, Poll(time.Minute, func() bool { n++; return n == 3 }))
	require.Equal(t, 3, n)
	require.False(t, Poll(time.Millisecond, func() bool { return false }))
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	t.Parallel()
	b := &tailBuffer{max: 4}
	_, _ = b.Write([]byte("abc"))
	_, _ = b.Write([]byte("def"))
	require.Equal(t, "cdef", b.String())
}
