package wsconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chunkConn is a connection whose reads return the given chunks one by one
// (the last together with err, if set), then err or io.EOF. Only Read is
// implemented.
type chunkConn struct {
	net.Conn
	chunks [][]byte
	err    error
	reads  int
	offers []int // len(p) of each read
}

func (c *chunkConn) Read(p []byte) (int, error) {
	c.reads++
	c.offers = append(c.offers, len(p))
	if len(c.chunks) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) == 0 && c.err != nil {
		return n, c.err
	}
	return n, nil
}

// split cuts b into chunks of size k.
func split(b []byte, k int) [][]byte {
	var out [][]byte
	for len(b) > k {
		out, b = append(out, b[:k]), b[k:]
	}
	return append(out, b)
}

func TestReadMessagePipelined(t *testing.T) {
	t.Parallel()
	third := clientFrame(true, OpBinary, []byte("three"))
	fourth := clientFrame(true, OpBinary, []byte("four"))
	pending := slices.Concat(
		clientFrame(true, OpBinary, []byte("one")),
		clientFrame(true, OpText, []byte("two")),
		third[:3],
	)
	conn := &chunkConn{chunks: [][]byte{slices.Concat(third[3:], fourth[:2])}}
	front := &pending[0]
	var d Decoder

	m, err := ReadMessage(conn, &d, &pending)
	require.NoError(t, err)
	require.Equal(t, Message{OpBinary, []byte("one")}, m)
	require.Same(t, front, &pending[0], "the bytes left are moved to the front")
	require.Equal(t, slices.Concat(clientFrame(true, OpText, []byte("two")), third[:3]), pending)
	m, err = ReadMessage(conn, &d, &pending)
	require.NoError(t, err)
	require.Equal(t, Message{OpText, []byte("two")}, m)
	require.Zero(t, conn.reads, "pending bytes are decoded before reading")
	require.Equal(t, third[:3], pending)

	m, err = ReadMessage(conn, &d, &pending)
	require.NoError(t, err)
	require.Equal(t, Message{OpBinary, []byte("three")}, m)
	require.Equal(t, 1, conn.reads)
	require.GreaterOrEqual(t, conn.offers[0], readChunk)
	require.Equal(t, fourth[:2], pending, "the bytes not decoded stay in pending")
}

func TestReadMessageReusesBuffer(t *testing.T) {
	t.Parallel()
	var chunks [][]byte
	for range 50 {
		chunks = append(chunks, clientFrame(true, OpBinary, repeat(100)))
	}
	conn := &chunkConn{chunks: chunks}
	var d Decoder
	var pending []byte
	var first *byte
	for i := range 50 {
		m, err := ReadMessage(conn, &d, &pending)
		require.NoError(t, err)
		require.Equal(t, repeat(100), m.Payload)
		require.Empty(t, pending)
		require.Equal(t, readChunk, cap(pending))
		if i == 0 {
			first = &pending[:1][0]
		}
		require.Same(t, first, &pending[:1][0], "read %d: the buffer is reused", i)
	}
}

func TestReadMessageCompacts(t *testing.T) {
	t.Parallel()
	// Each read brings a frame and a half, so pending is never empty and
	// its bytes must be moved to the front to make room.
	frame := clientFrame(true, OpBinary, repeat(200))
	stream := bytes.Repeat(frame, 20)
	conn := &chunkConn{chunks: split(stream, len(frame)*3/2)}
	var d Decoder
	var pending []byte
	var buf *byte
	for i := range 20 {
		m, err := ReadMessage(conn, &d, &pending)
		require.NoError(t, err, "message %d", i)
		require.Equal(t, repeat(200), m.Payload, "message %d", i)
		switch {
		case i == 1:
			buf = &pending[:1][0]
		case i > 1:
			require.Same(t, buf, &pending[:1][0], "message %d: the buffer is reused", i)
		}
	}
	require.Empty(t, pending)
	require.Equal(t, 2*readChunk, cap(pending), "the buffer grows only when compacting cannot make room")
	_, err := ReadMessage(conn, &d, &pending)
	require.Same(t, io.EOF, err)
}

func TestReadMessageLarge(t *testing.T) {
	t.Parallel()
	payload := repeat(200_000)
	conn := &chunkConn{chunks: split(clientFrame(true, OpBinary, payload), 1000)}
	d := Decoder{MaxMessage: 1 << 20}
	var pending []byte
	m, err := ReadMessage(conn, &d, &pending)
	require.NoError(t, err)
	require.Equal(t, payload, m.Payload)
	require.Empty(t, pending)
}

func TestReadMessageFragmented(t *testing.T) {
	t.Parallel()
	stream := slices.Concat(
		clientFrame(false, OpBinary, repeat(300)[:100]),
		clientFrame(true, OpPing, []byte("mid")),
		clientFrame(false, OpContinuation, repeat(300)[100:250]),
		clientFrame(true, OpContinuation, repeat(300)[250:]),
	)
	conn := &chunkConn{chunks: split(stream, 7)}
	var d Decoder
	var pending []byte
	m, err := ReadMessage(conn, &d, &pending)
	require.NoError(t, err)
	require.Equal(t, Message{OpPing, []byte("mid")}, m)
	m, err = ReadMessage(conn, &d, &pending)
	require.NoError(t, err)
	require.Equal(t, Message{OpBinary, repeat(300)}, m)
	require.Empty(t, pending)
}

func TestReadMessageErrors(t *testing.T) {
	t.Parallel()
	t.Run("EOF as is", func(t *testing.T) {
		t.Parallel()
		half := clientFrame(true, OpBinary, []byte("abc"))[:4]
		conn := &chunkConn{chunks: [][]byte{half}}
		var d Decoder
		var pending []byte
		_, err := ReadMessage(conn, &d, &pending)
		require.Same(t, io.EOF, err)
		require.Equal(t, half, pending)
	})
	t.Run("bytes read with an error come first", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		conn := &chunkConn{chunks: [][]byte{clientFrame(true, OpBinary, []byte("last"))}, err: boom}
		var d Decoder
		var pending []byte
		m, err := ReadMessage(conn, &d, &pending)
		require.NoError(t, err)
		require.Equal(t, []byte("last"), m.Payload)
		_, err = ReadMessage(conn, &d, &pending)
		require.Same(t, boom, err)
	})
	t.Run("protocol error", func(t *testing.T) {
		t.Parallel()
		conn := &chunkConn{chunks: [][]byte{{0x82, 0x01, 'x'}}}
		var d Decoder
		var pending []byte
		_, err := ReadMessage(conn, &d, &pending)
		require.ErrorIs(t, err, ErrProtocol)
	})
	t.Run("too large", func(t *testing.T) {
		t.Parallel()
		conn := &chunkConn{chunks: [][]byte{{0x82, 0x80 | 126, 0x10, 0x00}}}
		d := Decoder{MaxMessage: 100}
		var pending []byte
		_, err := ReadMessage(conn, &d, &pending)
		require.ErrorIs(t, err, ErrTooLarge)
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		server, client := net.Pipe()
		t.Cleanup(func() { server.Close(); client.Close() })
		require.NoError(t, server.SetReadDeadline(time.Now().Add(-time.Second)))
		var d Decoder
		var pending []byte
		_, err := ReadMessage(server, &d, &pending)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		require.True(t, ne.Timeout())
	})
}
