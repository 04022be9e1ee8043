package connector

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time of the calling OS thread, user and system.
func threadCPU(tb testing.TB) time.Duration {
	var ts unix.Timespec
	require.NoError(tb, unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts))
	return time.Duration(ts.Nano())
}

// BenchmarkMessageFloor measures the least a server thread spends on one
// small message to each of many loopback connections, in system calls and
// Go's network poller alone: no framing, no sealing, no session. Each round
// writes a 120-byte frame to every connection; with ack, each peer answers
// with 40 bytes, which the thread then reads, as a connector reads a
// device's acknowledgement. The thread is locked, and only its own CPU
// time counts (cpu-µs/msg): the peers run on other threads, and on
// loopback the kernel's receive work for a write runs in the writer's
// system call, so the ack's delivery is charged to its peer. What the
// figure leaves out, a real server also pays, so it is a floor for the
// server CPU per delivered broadcast message on the same machine.
func BenchmarkMessageFloor(b *testing.B) {
	const conns = 1000
	for _, ack := range []bool{false, true} {
		b.Run(fmt.Sprintf("ack=%t", ack), func(b *testing.B) {
			cs := make([]*net.TCPConn, conns)
			for i := range cs {
				c, peer := tcpPair(b)
				cs[i] = c
				go echoAcks(peer, ack)
			}
			frame, buf := make([]byte, 120), make([]byte, 40)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			msgs := 0
			cpu0 := threadCPU(b)
			for b.Loop() {
				for _, c := range cs {
					if _, err := c.Write(frame); err != nil {
						b.Fatal(err)
					}
				}
				if ack {
					for _, c := range cs {
						if _, err := io.ReadFull(c, buf); err != nil {
							b.Fatal(err)
						}
					}
				}
				msgs += conns
			}
			b.ReportMetric(float64((threadCPU(b)-cpu0).Nanoseconds())/1e3/float64(msgs), "cpu-µs/msg")
		})
	}
}

// echoAcks reads 120-byte frames from peer until it is closed, answering
// each with 40 bytes when ack is set.
func echoAcks(peer net.Conn, ack bool) {
	frame, reply := make([]byte, 120), make([]byte, 40)
	for {
		if _, err := io.ReadFull(peer, frame); err != nil {
			return
		}
		if ack {
			if _, err := peer.Write(reply); err != nil {
				return
			}
		}
	}
}
