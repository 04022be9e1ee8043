package sdkproto

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/sdkproto/pb"
)

// requireSentinel fails unless err wraps one of the package's sentinels: a
// decoder of outside input never reports anything else.
func requireSentinel(t *testing.T, err error) {
	t.Helper()
	for _, s := range []error{ErrBadFrame, ErrReplay, ErrReorder, ErrFrameTooLarge, ErrVersion, ErrAuth, ErrUnknownFrame} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v wraps no sentinel", err)
}

func FuzzParseClientHello(f *testing.F) {
	ch := &pb.ClientHello{Version: Version, DeviceId: "dev-1", EphemeralKey: bytes.Repeat([]byte{9}, 32), Nonce: make([]byte, 16)}
	for _, m := range []*pb.ClientHello{
		ch,
		{Version: 2, DeviceId: "dev-1", EphemeralKey: ch.EphemeralKey, Nonce: ch.Nonce},
		{Version: Version, DeviceId: strings.Repeat("d", 129), EphemeralKey: ch.EphemeralKey, Nonce: ch.Nonce},
		{Version: Version, DeviceId: "dev-1", EphemeralKey: ch.EphemeralKey[:31], Nonce: ch.Nonce},
	} {
		b, err := proto.Marshal(m)
		require.NoError(f, err)
		f.Add(b)
	}
	_, real, err := NewClientHandshake("dev-1", testSecret(1))
	require.NoError(f, err)
	f.Add(real)
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01, 0x12, 0x80, 0x80, 0x80, 0x80, 0x08})
	f.Add(bytes.Repeat([]byte{0x0a}, MaxHelloSize+1))

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseClientHello(data)
		if err != nil {
			require.Nil(t, m)
			requireSentinel(t, err)
			return
		}
		require.EqualValues(t, Version, m.GetVersion())
		require.NotEmpty(t, m.GetDeviceId())
		require.LessOrEqual(t, len(m.GetDeviceId()), 128)
		require.Len(t, m.GetEphemeralKey(), keyLen)
		require.Len(t, m.GetNonce(), nonceLen)
		require.LessOrEqual(t, len(data), MaxHelloSize)
	})
}

func FuzzParseServerHello(f *testing.F) {
	sh := &pb.ServerHello{Version: Version, EphemeralKey: bytes.Repeat([]byte{9}, 32), Nonce: make([]byte, 16)}
	for _, m := range []*pb.ServerHello{
		sh,
		{Version: 0, EphemeralKey: sh.EphemeralKey, Nonce: sh.Nonce},
		{Version: Version, EphemeralKey: sh.EphemeralKey, Nonce: sh.Nonce[:15]},
	} {
		b, err := proto.Marshal(m)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x20})

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseServerHello(data)
		if err != nil {
			require.Nil(t, m)
			requireSentinel(t, err)
			return
		}
		require.EqualValues(t, Version, m.GetVersion())
		require.Len(t, m.GetEphemeralKey(), keyLen)
		require.Len(t, m.GetNonce(), nonceLen)
	})
}

func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range seedFrames() {
		b, err := proto.Marshal(fr)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x3a, 0x00})
	f.Add(protowire.AppendBytes(protowire.AppendTag(nil, 12, protowire.BytesType), []byte("future")))

	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeFrame(data)
		if err != nil {
			require.Nil(t, fr)
			requireSentinel(t, err)
			return
		}
		require.NotNil(t, fr.GetBody())
		// What decoded encodes and decodes to the same frame.
		b, err := proto.Marshal(fr)
		require.NoError(t, err)
		again, err := DecodeFrame(b)
		require.NoError(t, err)
		require.True(t, proto.Equal(fr, again))
	})
}

// FuzzDecodeAck checks the Ack fast path against proto.Unmarshal: whatever
// decodeAck takes, proto.Unmarshal decodes to the same frame.
func FuzzDecodeAck(f *testing.F) {
	ack := func(fields ...uint64) []byte {
		var body []byte
		for i := 0; i+1 < len(fields); i += 2 {
			body = protowire.AppendVarint(protowire.AppendTag(body, protowire.Number(fields[i]), protowire.VarintType), fields[i+1])
		}
		return protowire.AppendBytes(protowire.AppendTag(nil, 4, protowire.BytesType), body)
	}
	f.Add(ack())
	f.Add(ack(1, 7, 2, 9, 3, 1, 4, 2))
	f.Add(ack(1, 7, 1, 8))                      // repeated: the last wins
	f.Add(ack(1, 1<<63, 4, 1<<64-1))            // long varints
	f.Add(ack(5, 1))                            // unknown field
	f.Add(append(ack(1, 3), 0x38, 0x00))        // a second field after the ack
	f.Add([]byte{0xa2, 0x00, 0x02, 0x08, 0x01}) // tag in two bytes
	f.Add([]byte{0x22, 0x02, 0x08, 0x80})       // cut varint
	f.Add([]byte{0x22, 0x03, 0x0a, 0x01, 0x00}) // field 1 with the bytes wire type
	for _, fr := range seedFrames() {
		b, err := proto.Marshal(fr)
		require.NoError(f, err)
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeAck(data)
		if !ok {
			return
		}
		slow := new(pb.Frame)
		require.NoError(t, proto.Unmarshal(data, slow), "the fast path took what proto refuses")
		require.Empty(t, slow.ProtoReflect().GetUnknown())
		require.NotNil(t, slow.GetAck())
		require.True(t, proto.Equal(slow, fast), "fast %v, proto %v", fast, slow)
	})
}

// fuzzKeys are the fixed session keys of the fuzzed codecs, so that seeds
// sealed once keep opening.
var fuzzKeys = [2][]byte{bytes.Repeat([]byte{0xc2}, keyLen), bytes.Repeat([]byte{0x2c}, keyLen)}

func fuzzCodecs(t testing.TB) (sender, receiver *Codec) {
	t.Helper()
	sender, err := newCodec(fuzzKeys[0], fuzzKeys[1])
	require.NoError(t, err)
	receiver, err = newCodec(fuzzKeys[1], fuzzKeys[0])
	require.NoError(t, err)
	return sender, receiver
}

// FuzzCodecOpen opens the input as one sealed message, then, on a fresh
// session, as two consecutive messages split at the middle.
func FuzzCodecOpen(f *testing.F) {
	sender, _ := fuzzCodecs(f)
	for _, fr := range seedFrames() {
		msg, err := sender.Seal(nil, fr)
		require.NoError(f, err)
		f.Add(msg)
	}
	// Two same-sized frames, counters 0 and 1: both halves open.
	sender, _ = fuzzCodecs(f)
	a, err := sender.Seal(nil, pushFrame(1, "aaaa"))
	require.NoError(f, err)
	b, err := sender.Seal(nil, pushFrame(2, "bbbb"))
	require.NoError(f, err)
	require.Len(f, b, len(a))
	f.Add(append(a, b...))
	f.Add(a)
	// Authenticates but does not decode.
	sender, _ = fuzzCodecs(f)
	f.Add(sender.SealRaw(nil, []byte{0xff, 0x01}))
	f.Add([]byte{})
	f.Add(make([]byte, Overhead))

	f.Fuzz(func(t *testing.T, data []byte) {
		_, rx := fuzzCodecs(t)
		openOne(t, rx, data)

		_, rx = fuzzCodecs(t)
		half := len(data) / 2
		openOne(t, rx, data[:half])
		openOne(t, rx, data[half:])
	})
}

// openOne opens data with rx and checks the invariants every outcome must
// keep; it reports whether data opened.
func openOne(t *testing.T, rx *Codec, data []byte) bool {
	t.Helper()
	before := rx.recvCtr
	fr, err := rx.Open(data)
	switch {
	case err == nil:
		require.NotNil(t, fr.GetBody())
		require.Equal(t, before+1, rx.recvCtr)
		return true
	case errors.Is(err, ErrUnknownFrame), errors.Is(err, ErrBadFrame) && rx.recvCtr == before+1:
		// Authenticated but not a frame this version decodes: the counter
		// has moved past it.
		require.Equal(t, before+1, rx.recvCtr)
		return true
	default:
		requireSentinel(t, err)
		require.Nil(t, fr)
		require.Equal(t, before, rx.recvCtr)
		return false
	}
}

// FuzzServerHandshake feeds random bytes to a server as the ClientHello and
// then as the sealed Hello: the server must never panic and never accept.
func FuzzServerHandshake(f *testing.F) {
	secret := testSecret(1)
	ch, clientHello, err := NewClientHandshake("dev-1", secret)
	require.NoError(f, err)
	_, serverHello, err := AcceptClientHello(clientHello)
	require.NoError(f, err)
	_, helloMsg, err := ch.Finish(serverHello, &pb.Hello{Epoch: 1, LastSeq: 2})
	require.NoError(f, err)
	f.Add(clientHello, helloMsg)
	f.Add(clientHello, []byte{})
	f.Add(clientHello, make([]byte, Overhead))
	f.Add([]byte{}, helloMsg)

	f.Fuzz(func(t *testing.T, clientHello, hello []byte) {
		sh, serverHello, err := AcceptClientHello(clientHello)
		if err != nil {
			require.Nil(t, sh)
			requireSentinel(t, err)
			return
		}
		_, err = ParseServerHello(serverHello)
		require.NoError(t, err)
		h, err := sh.VerifyHello(secret, hello)
		require.Error(t, err, "random bytes authenticated")
		require.Nil(t, h)
		requireSentinel(t, err)
	})
}

// FuzzClientHandshake feeds random bytes to a client as the ServerHello and
// then as the sealed Welcome: the client must never panic and never accept.
func FuzzClientHandshake(f *testing.F) {
	secret := testSecret(1)
	_, clientHello, err := NewClientHandshake("dev-1", secret)
	require.NoError(f, err)
	sh, serverHello, err := AcceptClientHello(clientHello)
	require.NoError(f, err)
	welcome, err := sh.Codec().Seal(nil, welcomeFrame(sh.WelcomeProof(secret)))
	require.NoError(f, err)
	f.Add(serverHello, welcome)
	f.Add(serverHello, []byte{})
	f.Add([]byte{}, welcome)

	f.Fuzz(func(t *testing.T, serverHello, welcome []byte) {
		ch, _, err := NewClientHandshake("dev-1", secret)
		require.NoError(t, err)
		client, _, err := ch.Finish(serverHello, &pb.Hello{})
		if err != nil {
			require.Nil(t, client)
			requireSentinel(t, err)
			return
		}
		fr, err := client.Open(welcome)
		if err != nil {
			requireSentinel(t, err)
			return
		}
		require.Error(t, ch.VerifyWelcome(fr.GetWelcome()), "random bytes authenticated")
	})
}

func seedFrames() []*pb.Frame {
	return []*pb.Frame{
		{Body: &pb.Frame_Hello{Hello: &pb.Hello{Proof: make([]byte, 32), Epoch: 1, LastSeq: 9, Sdk: "go/1"}}},
		welcomeFrame(make([]byte, 32)),
		pushFrame(1, "body"),
		ackFrame(1),
		{Body: &pb.Frame_SyncRequest{SyncRequest: &pb.SyncRequest{Since: 4, Limit: 100, Epoch: 7}}},
		{Body: &pb.Frame_SyncResponse{SyncResponse: &pb.SyncResponse{
			Pushes: []*pb.Push{pushFrame(5, "a").GetPush()}, Epoch: 7, HeadSeq: 5, More: true,
		}}},
		{Body: &pb.Frame_Ping{Ping: &pb.Ping{TimeMs: 1}}},
		{Body: &pb.Frame_Pong{Pong: &pb.Pong{TimeMs: 1}}},
		{Body: &pb.Frame_Redirect{Redirect: &pb.Redirect{Url: "ws://a/v1/connect", DelayMs: 5, JitterMs: 5}}},
		{Body: &pb.Frame_Error{Error: &pb.Error{Code: uint32(CodeStale), Message: "stale"}}},
		{Body: &pb.Frame_Report{Report: &pb.Report{Kind: "open", PushId: "p", Fields: map[string]string{"a": "b"}}}},
	}
}
