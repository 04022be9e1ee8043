//go:build unix

package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto/pb"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept() //nolint:errcheck // nil fails below
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	a := <-accepted
	require.NotNil(t, a)
	t.Cleanup(func() { c.Close(); a.Close() })
	return c.(*net.TCPConn), a.(*net.TCPConn)
}

func rawOf(t testing.TB, c *net.TCPConn) *rawWriter {
	t.Helper()
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	return newRawWriter(rc)
}

func TestWriteNowWritesWhatFits(t *testing.T) {
	c, peer := tcpPair(t)
	w := rawOf(t, c)
	n, err := w.writeNow([]byte("hello"))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	got := make([]byte, 5)
	_, err = io.ReadFull(peer, got)
	require.NoError(t, err)
	require.Equal(t, "hello", string(got))
}

// With a peer that does not read, writeNow fills the socket and then
// returns short, with no error, instead of waiting.
func TestWriteNowDoesNotWait(t *testing.T) {
	c, peer := tcpPair(t)
	require.NoError(t, c.SetWriteBuffer(16<<10))
	require.NoError(t, peer.SetReadBuffer(16<<10))
	w := rawOf(t, c)
	chunk := make([]byte, 64<<10)
	done := make(chan int, 1)
	go func() {
		total := 0
		for range 1000 {
			n, err := w.writeNow(chunk)
			if err != nil {
				t.Error(err)
				break
			}
			total += n
			if n < len(chunk) {
				break
			}
		}
		done <- total
	}()
	var total int
	select {
	case total = <-done:
	case <-time.After(time.Minute):
		t.Fatal("writeNow waited on a full socket")
	}
	require.Less(t, total, 1000*len(chunk), "the socket never filled")

	// What was written arrives whole once the peer reads.
	got, err := io.ReadAll(io.LimitReader(peer, int64(total)))
	require.NoError(t, err)
	require.Len(t, got, total)
}

func TestWriteNowErrors(t *testing.T) {
	c, _ := tcpPair(t)
	w := rawOf(t, c)
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(-time.Second)))
	_, err := w.writeNow([]byte("x"))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.NoError(t, c.SetWriteDeadline(time.Time{}))
	n, err := w.writeNow([]byte("x"))
	require.NoError(t, err)
	require.Equal(t, 1, n)

	require.NoError(t, c.Close())
	_, err = w.writeNow([]byte("x"))
	require.True(t, errors.Is(err, net.ErrClosed), "%v", err)
}

func TestWriteNowReportsReset(t *testing.T) {
	c, peer := tcpPair(t)
	w := rawOf(t, c)
	require.NoError(t, peer.SetLinger(0)) // close with a reset
	require.NoError(t, peer.Close())
	var err error
	for range 1000 {
		if _, err = w.writeNow([]byte("x")); err != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	require.Error(t, err, "a reset socket fails its writes")
}

// BenchmarkSocketWrite compares a frame-sized write that sets a deadline
// first, as every write once did, with one that writes what fits at once.
// 18,000 pending timers stand for the write deadlines of a connector's
// other sessions.
func BenchmarkSocketWrite(b *testing.B) {
	frame := make([]byte, 120)
	run := func(b *testing.B, write func(c *net.TCPConn, w *rawWriter) error) {
		for range 18000 {
			t := time.AfterFunc(time.Hour, func() {})
			b.Cleanup(func() { t.Stop() })
		}
		c, peer := tcpPair(b)
		w := rawOf(b, c)
		go io.Copy(io.Discard, peer) //nolint:errcheck // ends with the conn
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			if err := write(c, w); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("deadline", func(b *testing.B) {
		run(b, func(c *net.TCPConn, _ *rawWriter) error {
			c.SetWriteDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // surfaces on write
			_, err := c.Write(frame)
			return err
		})
	})
	b.Run("now", func(b *testing.B) {
		run(b, func(c *net.TCPConn, w *rawWriter) error {
			n, err := w.writeNow(frame)
			if err == nil && n < len(frame) {
				_, err = c.Write(frame[n:])
			}
			return err
		})
	})
}

// hookedRawConn calls before ahead of every write.
type hookedRawConn struct {
	syscall.RawConn
	before func()
}

func (h hookedRawConn) Write(f func(fd uintptr) bool) error {
	h.before()
	return h.RawConn.Write(f)
}

// A frame queued to a session while writeOut writes it (another
// broadcast's, offered meanwhile) is written by writeOut too, in a further
// round, not by a writer started for it. Frames that keep coming go to the
// writer once writeRounds rounds are used up.
func TestWriteOutWritesWhatCameWhileItWrote(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	bcast := func() (seq, epoch uint64, frame []byte, err error) {
		msg := store.Message{PushID: ids.New(), Body: "all", SentAt: time.Now()}
		pos, err := f.st.Append(ctx, []store.Entry{{DeviceID: store.BroadcastStream("app"), Message: msg}})
		if err != nil {
			return 0, 0, nil, err
		}
		msg.Seq = pos[0].Seq
		p := pushFrame(msg, pos[0].Epoch)
		p.Broadcast = true
		frame, err = proto.Marshal(&pb.Frame{Body: &pb.Frame_Push{Push: p}})
		return msg.Seq, pos[0].Epoch, frame, err
	}
	_, _, _, err := bcast() // the stream exists before the device comes: it starts at its head
	require.NoError(t, err)
	dev, s := f.syncedIdle(t)
	rc := s.raw.rc

	for _, c := range []struct {
		extra         int   // frames offered by the writes, one per write
		writerStarted int64 // writers writeOut leaves them to
	}{
		{extra: 1, writerStarted: 0},
		{extra: writeRounds + 2, writerStarted: 1},
	} {
		// Every write of the session first offers one more broadcast, as
		// a broadcast running alongside would, until extra were offered.
		// It runs on writeOut's goroutine, then on the writer's.
		offered := 0
		var hookErr error
		s.raw = newRawWriter(hookedRawConn{RawConn: rc, before: func() {
			if offered == c.extra || hookErr != nil {
				return
			}
			offered++
			seq, epoch, fr, err := bcast()
			if err != nil {
				hookErr = err
				return
			}
			var later []*session
			if res := s.offerBroadcast(seq, epoch, fr, &later); res != offerQueued || len(later) != 0 {
				hookErr = fmt.Errorf("offer of %d: result %v, %d to write later; want it queued only, as the session is being written", seq, res, len(later))
			}
		}})
		first, epoch, fr, err := bcast()
		require.NoError(t, err)
		var later []*session
		require.Equal(t, offerQueued, s.offerBroadcast(first, epoch, fr, &later))
		require.Equal(t, []*session{s}, later)

		started := f.c.writers.started.Load()
		writeOut(later)
		require.Equal(t, c.writerStarted, f.c.writers.started.Load()-started, "writers started")
		if c.writerStarted == 0 {
			require.True(t, idleOf(s), "everything written on writeOut's goroutine")
		}
		var want []uint64
		for q := first; q <= first+uint64(c.extra); q++ {
			want = append(want, q)
		}
		require.Equal(t, want, dev.pushesUpTo(t, want[len(want)-1]), "every frame, in order")
		waitIdle(t, s, "the writer ends once everything is written")
		require.NoError(t, hookErr)
		require.Equal(t, c.extra, offered)
	}
}
