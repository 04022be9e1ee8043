package sdkproto

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/sdkproto/pb"
)

var benchSizes = []int{64, 512, 4096}

// benchPush returns a Push frame whose encoding is exactly size bytes.
func benchPush(b *testing.B, size int) *pb.Frame {
	b.Helper()
	f := &pb.Frame{Body: &pb.Frame_Push{Push: &pb.Push{PushId: "0196f0c2-7e1a", Seq: 1 << 20, Epoch: 3}}}
	for n := 0; proto.Size(f) < size; n++ {
		f.GetPush().Body = strings.Repeat("x", n)
	}
	require.Equal(b, size, proto.Size(f))
	return f
}

// BenchmarkSeal measures encoding and sealing one Push frame; size is the
// frame's encoded size in bytes.
func BenchmarkSeal(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			s := handshake(b, "dev-1", testSecret(1))
			f := benchPush(b, size)
			buf := make([]byte, 0, size+Overhead)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				buf, err = s.server.Seal(buf[:0], f)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen measures opening and decoding one sealed Push frame; size is
// the frame's encoded size in bytes.
func BenchmarkOpen(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			s := handshake(b, "dev-1", testSecret(1))
			start := s.client.recvCtr
			msg := seal(b, s.server, benchPush(b, size))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				// Opening the same message again is a replay; rewinding
				// the counter keeps the measured work identical.
				s.client.recvCtr = start
				if _, err := s.client.Open(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHandshake measures one complete handshake on both sides: two
// X25519 key pairs and agreements, key derivation, both proofs, and the
// sealed Hello and Welcome.
func BenchmarkHandshake(b *testing.B) {
	secret := testSecret(1)
	welcome := &pb.Welcome{SessionId: "s-1", HeartbeatMs: 25000, Epoch: 3, HeadSeq: 10}
	b.ReportAllocs()
	for b.Loop() {
		ch, clientHello, err := NewClientHandshake("dev-1", secret)
		if err != nil {
			b.Fatal(err)
		}
		sh, serverHello, err := AcceptClientHello(clientHello)
		if err != nil {
			b.Fatal(err)
		}
		client, helloMsg, err := ch.Finish(serverHello, &pb.Hello{Epoch: 3, LastSeq: 9})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sh.VerifyHello(secret, helloMsg); err != nil {
			b.Fatal(err)
		}
		welcome.Proof = sh.WelcomeProof(secret)
		msg, err := sh.Codec().Seal(nil, &pb.Frame{Body: &pb.Frame_Welcome{Welcome: welcome}})
		if err != nil {
			b.Fatal(err)
		}
		f, err := client.Open(msg)
		if err != nil {
			b.Fatal(err)
		}
		if err := ch.VerifyWelcome(f.GetWelcome()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}

// BenchmarkDecodeAck decodes the Ack frame a device sends for every push:
// through DecodeFrame (its fast path) and through proto.Unmarshal.
func BenchmarkDecodeAck(b *testing.B) {
	ack, err := proto.Marshal(&pb.Frame{Body: &pb.Frame_Ack{Ack: &pb.Ack{Seq: 12345, Epoch: 1 << 40, BroadcastSeq: 99, BroadcastEpoch: 1 << 41}}})
	require.NoError(b, err)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeFrame(ack); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proto", func(b *testing.B) {
		for b.Loop() {
			if err := proto.Unmarshal(ack, new(pb.Frame)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
