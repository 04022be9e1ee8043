package connector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mopush/mopush/sdkproto"
	"github.com/mopush/mopush/sdkproto/pb"
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
			cs := echoConns(b, conns, ack)
			frame, buf := make([]byte, 120), make([]byte, 40)
			threadCPUPerMsg(b, conns, func() {
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
			})
		})
	}
}

// echoConns returns n loopback connections whose peers read 120-byte
// frames (see echoAcks) until the benchmark ends.
func echoConns(b *testing.B, n int, ack bool) []*net.TCPConn {
	cs := make([]*net.TCPConn, n)
	for i := range cs {
		c, peer := tcpPair(b)
		cs[i] = c
		go echoAcks(peer, ack)
	}
	return cs
}

// threadCPUPerMsg runs round, which sends msgs messages, for each
// iteration on a locked thread, and reports the thread's CPU per message
// (cpu-µs/msg).
func threadCPUPerMsg(b *testing.B, msgs int, round func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sent := 0
	cpu0 := threadCPU(b)
	for b.Loop() {
		round()
		sent += msgs
	}
	b.ReportMetric(float64((threadCPU(b)-cpu0).Nanoseconds())/1e3/float64(sent), "cpu-µs/msg")
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

// BenchmarkWriteSyscall compares the two system calls a session could
// write a frame with: write(2), which the connector uses (unix.Write in
// rawWriter), and sendto(2), which leaves out the file layer's part of a
// write. Like MessageFloor/ack=false, each round writes 120 bytes to each
// of 1,000 loopback connections, here on the raw descriptor inside
// RawConn.Control (the same for both calls); cpu-µs/msg is the locked
// thread's CPU per write.
func BenchmarkWriteSyscall(b *testing.B) {
	const conns = 1000
	calls := map[string]func(fd int, p []byte) error{
		"write": func(fd int, p []byte) error {
			_, err := unix.Write(fd, p)
			return err
		},
		"sendto": func(fd int, p []byte) error { return unix.Sendto(fd, p, unix.MSG_DONTWAIT, nil) },
	}
	for _, name := range []string{"write", "sendto"} {
		call := calls[name]
		b.Run(name, func(b *testing.B) {
			var rcs []syscall.RawConn
			for _, c := range echoConns(b, conns, false) {
				rc, err := c.SyscallConn()
				require.NoError(b, err)
				rcs = append(rcs, rc)
			}
			frame := make([]byte, 120)
			var werr error
			write := func(fd uintptr) { werr = call(int(fd), frame) }
			threadCPUPerMsg(b, conns, func() {
				for _, rc := range rcs {
					if err := rc.Control(write); err != nil || werr != nil {
						b.Fatal(err, werr)
					}
				}
			})
		})
	}
}

// BenchmarkConnectFloor measures the least a device connect costs both
// sides together: a loopback TCP connect and accept, the protocol's full
// handshake (each side's X25519 key pair and key agreement, the proofs, the
// Welcome sealed and opened) and the close, with each message sent as a
// length-prefixed write and nothing else: no HTTP upgrade, no WebSocket
// framing, no store, no session. The device's first message is padded to
// the size of an upgrade request with an early hello (425 bytes). Connects
// run 32 at a time; cpu-µs/connect is the process's CPU (getrusage) per
// connect, both sides included, so 2 cores cannot connect more than
// 2,000,000 / cpu-µs/connect devices a second, whatever the server does.
// Both figures run to the end of the last connect; ns/op stops when the
// last connect is handed to a worker, so it reads low for small -benchtime.
func BenchmarkConnectFloor(b *testing.B) {
	const parallel = 32
	secret := bytes.Repeat([]byte{7}, 32)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := serveFloorConnect(c, secret); err != nil {
					b.Error(err)
				}
			}()
		}
	}()
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	for range parallel {
		wg.Go(func() {
			for range jobs {
				if err := floorConnect(ln.Addr().String(), secret); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	n := 0
	start, cpu0 := time.Now(), processCPU()
	for b.Loop() {
		jobs <- struct{}{}
		n++
	}
	close(jobs)
	wg.Wait()
	close(errs)
	require.NoError(b, <-errs)
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "connects/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/connect")
}

// floorConnect is the device's side of BenchmarkConnectFloor.
func floorConnect(addr string, secret []byte) error {
	ch, clientHello, err := sdkproto.NewClientHandshake("dev-1", secret)
	if err != nil {
		return err
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	first := append(make([]byte, 425-2-len(clientHello)), clientHello...)
	if err := writeFloorMsg(c, first); err != nil {
		return err
	}
	serverHello, err := readFloorMsg(c)
	if err != nil {
		return err
	}
	codec, hello, err := ch.Finish(serverHello, &pb.Hello{Epoch: 3, LastSeq: 9})
	if err != nil {
		return err
	}
	if err := writeFloorMsg(c, hello); err != nil {
		return err
	}
	msg, err := readFloorMsg(c)
	if err != nil {
		return err
	}
	f, err := codec.Open(msg)
	if err != nil {
		return err
	}
	return ch.VerifyWelcome(f.GetWelcome())
}

// serveFloorConnect is the server's side of BenchmarkConnectFloor.
func serveFloorConnect(c net.Conn, secret []byte) error {
	first, err := readFloorMsg(c)
	if err != nil {
		return err
	}
	clientHello := first[bytes.IndexFunc(first, func(r rune) bool { return r != 0 }):]
	sh, serverHello, err := sdkproto.AcceptClientHello(clientHello)
	if err != nil {
		return err
	}
	if err := writeFloorMsg(c, serverHello); err != nil {
		return err
	}
	hello, err := readFloorMsg(c)
	if err != nil {
		return err
	}
	if _, err := sh.VerifyHello(secret, hello); err != nil {
		return err
	}
	welcome := &pb.Welcome{SessionId: "s-1", HeartbeatMs: 25000, Epoch: 3, HeadSeq: 10, Proof: sh.WelcomeProof(secret)}
	msg, err := sh.Codec().Seal(nil, &pb.Frame{Body: &pb.Frame_Welcome{Welcome: welcome}})
	if err != nil {
		return err
	}
	if err := writeFloorMsg(c, msg); err != nil {
		return err
	}
	// The device closes first; its end of stream ends the connection.
	if _, err := c.Read(msg[:1]); !errors.Is(err, io.EOF) {
		return fmt.Errorf("after the welcome: %v", err)
	}
	return nil
}

// writeFloorMsg writes msg after its length, in one system call.
func writeFloorMsg(c net.Conn, msg []byte) error {
	_, err := c.Write(append(binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(msg)), uint16(len(msg))), msg...))
	return err
}

// readFloorMsg reads one message written by writeFloorMsg, in one system
// call when it arrived whole (the peer sends nothing until it is answered).
func readFloorMsg(c net.Conn) ([]byte, error) {
	buf := make([]byte, 1024)
	n, err := io.ReadAtLeast(c, buf, 2)
	if err != nil {
		return nil, err
	}
	size := 2 + int(binary.BigEndian.Uint16(buf))
	if size > len(buf) {
		return nil, fmt.Errorf("message of %d bytes", size)
	}
	if n < size {
		if _, err := io.ReadFull(c, buf[n:size]); err != nil {
			return nil, err
		}
	}
	return buf[2:size], nil
}

// BenchmarkPageFault measures what the first touch of a fresh page of
// memory costs the touching thread: the page fault, and the zeroing and
// mapping of a page. Every page a process uses for the first time pays it
// once: a new connection's buffers and session on the server, each
// simulated device's goroutine stack and buffers in the bench's workers,
// a new memtable of the embedded store. The mapping is 64 MiB, touched one
// byte per 4 KiB page, then unmapped; cpu-µs/page is the locked thread's
// CPU per page.
func BenchmarkPageFault(b *testing.B) {
	const size, page = 64 << 20, 4096
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu time.Duration
	pages := 0
	for b.Loop() {
		m, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
		require.NoError(b, err)
		cpu0 := threadCPU(b)
		for i := 0; i < size; i += page {
			m[i] = 1
		}
		cpu += threadCPU(b) - cpu0
		pages += size / page
		require.NoError(b, unix.Munmap(m))
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(pages), "cpu-µs/page")
}
