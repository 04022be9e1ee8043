package sdkproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/sdkproto/pb"
)

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	s := handshake(t, "dev-1", testSecret(1))
	frames := []*pb.Frame{
		{Body: &pb.Frame_Ping{Ping: &pb.Ping{}}},
		{Body: &pb.Frame_Pong{Pong: &pb.Pong{TimeMs: 123}}},
		pushFrame(44, "hello"),
		pushFrame(45, strings.Repeat("b", 30<<10)),
		{Body: &pb.Frame_SyncResponse{SyncResponse: &pb.SyncResponse{
			Pushes: []*pb.Push{pushFrame(46, "a").GetPush(), pushFrame(47, "b").GetPush()},
			Epoch:  7, HeadSeq: 47, Recovered: true,
		}}},
		{Body: &pb.Frame_Redirect{Redirect: &pb.Redirect{Url: "ws://n2/v1/connect", DelayMs: 100, JitterMs: 900, Reason: "drain"}}},
		{Body: &pb.Frame_Error{Error: &pb.Error{Code: uint32(CodeShutdown), Message: "bye"}}},
	}
	for _, f := range frames {
		msg := seal(t, s.server, f)
		b, err := proto.Marshal(f)
		require.NoError(t, err)
		require.Len(t, msg, len(b)+Overhead)
		got, err := s.client.Open(msg)
		require.NoError(t, err)
		requireFrame(t, f, got)
	}
}

// TestCodecAppends checks that SealRaw and OpenRaw append to dst and leave
// what it held alone.
func TestCodecAppends(t *testing.T) {
	t.Parallel()
	s := handshake(t, "dev-1", testSecret(1))
	plain := []byte("frame bytes")

	prefix := []byte("head:")
	sealed := s.client.SealRaw(bytes.Clone(prefix), plain)
	require.Equal(t, prefix, sealed[:len(prefix)])
	require.Len(t, sealed, len(prefix)+len(plain)+Overhead)

	// A dst with spare capacity is written in place.
	buf := make([]byte, 3, 256)
	copy(buf, "abc")
	opened, err := s.server.OpenRaw(buf, sealed[len(prefix):])
	require.NoError(t, err)
	require.Equal(t, "abc"+string(plain), string(opened))
	require.Equal(t, &buf[0], &opened[0])
}

func TestCodecRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// bad builds the message to refuse from a fresh session; the
		// session's client has sealed first and second, not yet opened.
		bad  func(t *testing.T, s *session, first, second []byte) []byte
		want error
		code Code
	}{
		{"replay of an opened frame", nil, ErrReplay, CodeReplay},
		{"skipped frame", func(_ *testing.T, _ *session, _, second []byte) []byte { return second }, ErrReorder, CodeReplay},
		{"flipped ciphertext bit", func(_ *testing.T, _ *session, first, _ []byte) []byte {
			return flip(first, counterLen, 0)
		}, ErrBadFrame, CodeBadFrame},
		{"flipped tag bit", func(_ *testing.T, _ *session, first, _ []byte) []byte {
			return flip(first, len(first)-1, 7)
		}, ErrBadFrame, CodeBadFrame},
		{"counter rewritten to expected", func(_ *testing.T, _ *session, _, second []byte) []byte {
			c := bytes.Clone(second)
			binary.BigEndian.PutUint64(c, 1) // the counter the client expects
			return c
		}, ErrBadFrame, CodeBadFrame},
		{"truncated", func(_ *testing.T, _ *session, first, _ []byte) []byte { return first[:len(first)-1] }, ErrBadFrame, CodeBadFrame},
		{"too short", func(_ *testing.T, _ *session, first, _ []byte) []byte { return first[:Overhead-1] }, ErrBadFrame, CodeBadFrame},
		{"empty", func(*testing.T, *session, []byte, []byte) []byte { return nil }, ErrBadFrame, CodeBadFrame},
		{"only a counter", func(*testing.T, *session, []byte, []byte) []byte { return make([]byte, counterLen) }, ErrBadFrame, CodeBadFrame},
		{"oversized", func(*testing.T, *session, []byte, []byte) []byte { return make([]byte, DefaultMaxFrame+1) }, ErrFrameTooLarge, CodeFrameTooLarge},
		{"from another session", func(t *testing.T, _ *session, _, _ []byte) []byte {
			o := handshake(t, "dev-1", testSecret(1))
			return seal(t, o.server, pushFrame(44, "other"))
		}, ErrBadFrame, CodeBadFrame},
		{"own frame fed back", func(t *testing.T, s *session, _, _ []byte) []byte {
			// After the handshake both client counters stand at 1, so
			// only the key tells the directions apart.
			return seal(t, s.client, ackFrame(1))
		}, ErrBadFrame, CodeBadFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := handshake(t, "dev-1", testSecret(1))
			first := seal(t, s.server, pushFrame(44, "first"))
			second := seal(t, s.server, pushFrame(45, "second"))
			var bad []byte
			if tc.bad == nil {
				_, err := s.client.Open(first)
				require.NoError(t, err)
				bad = first
			} else {
				bad = tc.bad(t, s, first, second)
			}
			f, err := s.client.Open(bad)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, f)
			require.Equal(t, tc.code, CodeOf(err))
			if tc.bad == nil {
				return
			}
			// A refused message leaves the counter alone: the genuine
			// frames still open in order.
			_, err = s.client.Open(first)
			require.NoError(t, err)
			_, err = s.client.Open(second)
			require.NoError(t, err)
		})
	}
}

// TestCodecEveryBitFlip flips each bit of a sealed message in turn: a flip in
// the counter is a replay or a reorder, anywhere else a bad frame.
func TestCodecEveryBitFlip(t *testing.T) {
	t.Parallel()
	s := handshake(t, "dev-1", testSecret(1))
	// Advance to a counter with bits on either side of each flip.
	for range 5 {
		_, err := s.client.Open(seal(t, s.server, pushFrame(1, "warm")))
		require.NoError(t, err)
	}
	msg := seal(t, s.server, pushFrame(2, "flip me"))
	for i := range msg {
		for bit := range uint(8) {
			_, err := s.client.Open(flip(msg, i, bit))
			switch {
			case i >= counterLen:
				require.ErrorIs(t, err, ErrBadFrame, "byte %d bit %d", i, bit)
			case msg[i]&(1<<bit) != 0:
				require.ErrorIs(t, err, ErrReplay, "byte %d bit %d", i, bit)
			default:
				require.ErrorIs(t, err, ErrReorder, "byte %d bit %d", i, bit)
			}
		}
	}
	_, err := s.client.Open(msg)
	require.NoError(t, err)
}

// TestCodecDirections checks that each side refuses what it sealed itself:
// the two directions use separate keys even though both count from zero.
func TestCodecDirections(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		side func(s *session) *Codec
	}{
		{"client", func(s *session) *Codec { return s.client }},
		{"server", func(s *session) *Codec { return s.server }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := handshake(t, "dev-1", testSecret(1))
			c := tc.side(s)
			// Align the counters so that only the key differs.
			for c.sendCtr != c.recvCtr {
				if c.sendCtr < c.recvCtr {
					c.SealRaw(nil, []byte{0})
				} else {
					c.recvCtr++
				}
			}
			_, err := c.Open(seal(t, c, ackFrame(1)))
			require.ErrorIs(t, err, ErrBadFrame)
		})
	}
}

func TestCodecMaxFrame(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		maxFrame int
		limit    int
	}{
		{"default", 0, DefaultMaxFrame},
		{"negative means default", -1, DefaultMaxFrame},
		{"custom", 1000, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := handshake(t, "dev-1", testSecret(1))
			s.client.MaxFrame = tc.maxFrame
			atLimit := s.server.SealRaw(nil, make([]byte, tc.limit-Overhead))
			require.Len(t, atLimit, tc.limit)
			_, err := s.client.OpenRaw(nil, atLimit)
			require.NoError(t, err)
			over := s.server.SealRaw(nil, make([]byte, tc.limit-Overhead+1))
			_, err = s.client.OpenRaw(nil, over)
			require.ErrorIs(t, err, ErrFrameTooLarge)
		})
	}
}

func TestDecodeFrame(t *testing.T) {
	t.Parallel()
	ping, err := proto.Marshal(&pb.Frame{Body: &pb.Frame_Ping{Ping: &pb.Ping{TimeMs: 5}}})
	require.NoError(t, err)
	unknownBody := protowire.AppendBytes(protowire.AppendTag(nil, 42, protowire.BytesType), []byte{0x08, 0x01})
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"ping", ping, nil},
		{"empty ping body", []byte{0x3a, 0x00}, nil},
		{"known body and unknown field", append(bytes.Clone(ping), unknownBody...), nil},
		{"empty", nil, ErrBadFrame},
		{"garbage", []byte{0xff, 0xff, 0xff}, ErrBadFrame},
		{"truncated body", ping[:len(ping)-1], ErrBadFrame},
		{"field number zero", []byte{0x00, 0x00}, ErrBadFrame},
		{"unknown body type", unknownBody, ErrUnknownFrame},
		{"unknown varint field", protowire.AppendVarint(protowire.AppendTag(nil, 100, protowire.VarintType), 1), ErrUnknownFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := DecodeFrame(tc.in)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				require.Nil(t, f)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, f.GetBody())
		})
	}
}

// TestCodecSkipsUnknownFrame checks that a frame type from a later version is
// reported as ErrUnknownFrame and the session reads on.
func TestCodecSkipsUnknownFrame(t *testing.T) {
	t.Parallel()
	s := handshake(t, "dev-1", testSecret(1))
	future := protowire.AppendBytes(protowire.AppendTag(nil, 12, protowire.BytesType), []byte("new"))
	_, err := s.client.Open(s.server.SealRaw(nil, future))
	require.ErrorIs(t, err, ErrUnknownFrame)
	require.NotErrorIs(t, err, ErrBadFrame)
	require.Equal(t, CodeUnexpectedFrame, CodeOf(err))

	push := pushFrame(44, "after")
	got, err := s.client.Open(seal(t, s.server, push))
	require.NoError(t, err)
	requireFrame(t, push, got)
}

// TestCodecSealWhileOpen seals on one goroutine while another opens on the
// same codec, as the documented concurrency rule allows; run with -race.
func TestCodecSealWhileOpen(t *testing.T) {
	t.Parallel()
	s := handshake(t, "dev-1", testSecret(1))
	const n = 200
	toServer := make(chan []byte, n)
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			msg, err := s.client.Seal(nil, ackFrame(uint64(i)))
			if err != nil {
				errs <- err
				return
			}
			toServer <- msg
		}
		close(toServer)
	})
	wg.Go(func() {
		for i := range n {
			msg, err := s.server.Seal(nil, pushFrame(uint64(i), "c"))
			if err != nil {
				errs <- err
				return
			}
			f, err := s.client.Open(msg)
			if err != nil {
				errs <- err
				return
			}
			if f.GetPush().GetSeq() != uint64(i) {
				errs <- errors.New("push out of order")
				return
			}
		}
	})
	for i := 0; ; i++ {
		msg, ok := <-toServer
		if !ok {
			require.Equal(t, n, i)
			break
		}
		f, err := s.server.Open(msg)
		require.NoError(t, err)
		require.Equal(t, uint64(i), f.GetAck().GetSeq())
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
