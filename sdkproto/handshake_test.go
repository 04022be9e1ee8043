package sdkproto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/sdkproto/pb"
)

func TestHandshakeRoundTrip(t *testing.T) {
	t.Parallel()
	s := handshake(t, "dev-1", testSecret(1))

	require.Equal(t, "dev-1", s.sh.Hello.GetDeviceId())
	require.EqualValues(t, Version, s.sh.Hello.GetVersion())
	require.Equal(t, uint64(7), s.hello.GetEpoch())
	require.Equal(t, uint64(41), s.hello.GetLastSeq())
	require.Equal(t, "go/test", s.hello.GetSdk())
	require.Len(t, s.hello.GetProof(), 32)
	require.Equal(t, "s-1", s.welcome.GetSessionId())
	require.Equal(t, s.sh.WelcomeProof(testSecret(1)), s.welcome.GetProof())

	// Both sides derived the same transcript, so the proofs are distinct
	// per direction and per session.
	require.NotEqual(t, s.hello.GetProof(), s.welcome.GetProof())
	other := handshake(t, "dev-1", testSecret(1))
	require.NotEqual(t, s.hello.GetProof(), other.hello.GetProof())

	// Frames flow both ways, interleaved, in order.
	for seq := uint64(42); seq < 52; seq++ {
		push := pushFrame(seq, strings.Repeat("x", int(seq)))
		got, err := s.client.Open(seal(t, s.server, push))
		require.NoError(t, err)
		requireFrame(t, push, got)

		ack := ackFrame(seq)
		got, err = s.server.Open(seal(t, s.client, ack))
		require.NoError(t, err)
		requireFrame(t, ack, got)
	}
}

func TestHandshakeWrongSecret(t *testing.T) {
	t.Parallel()
	right, wrong := testSecret(1), testSecret(2)

	t.Run("server refuses client", func(t *testing.T) {
		t.Parallel()
		ch, clientHello, err := NewClientHandshake("dev-1", wrong)
		require.NoError(t, err)
		sh, serverHello, err := AcceptClientHello(clientHello)
		require.NoError(t, err)
		_, helloMsg, err := ch.Finish(serverHello, &pb.Hello{})
		require.NoError(t, err)
		_, err = sh.VerifyHello(right, helloMsg)
		require.ErrorIs(t, err, ErrAuth)
		require.Equal(t, CodeAuthFailed, CodeOf(err))
	})

	t.Run("client refuses server", func(t *testing.T) {
		t.Parallel()
		ch, clientHello, err := NewClientHandshake("dev-1", right)
		require.NoError(t, err)
		sh, serverHello, err := AcceptClientHello(clientHello)
		require.NoError(t, err)
		client, helloMsg, err := ch.Finish(serverHello, &pb.Hello{})
		require.NoError(t, err)
		// A server that does not check the client and proves another
		// secret: the session keys match, the proof does not.
		_, err = sh.VerifyHello(wrong, helloMsg)
		require.ErrorIs(t, err, ErrAuth)
		f, err := client.Open(seal(t, sh.Codec(), welcomeFrame(sh.WelcomeProof(wrong))))
		require.NoError(t, err)
		require.ErrorIs(t, ch.VerifyWelcome(f.GetWelcome()), ErrAuth)
	})

	t.Run("client refuses missing proof", func(t *testing.T) {
		t.Parallel()
		s := handshake(t, "dev-1", right)
		require.ErrorIs(t, s.ch.VerifyWelcome(&pb.Welcome{}), ErrAuth)
		require.ErrorIs(t, s.ch.VerifyWelcome(nil), ErrAuth)
	})

	t.Run("client refuses its own proof", func(t *testing.T) {
		t.Parallel()
		s := handshake(t, "dev-1", right)
		require.ErrorIs(t, s.ch.VerifyWelcome(&pb.Welcome{Proof: s.hello.GetProof()}), ErrAuth)
	})
}

func TestHandshakeTamperedServerHello(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		tamper    func(t *testing.T, sh []byte) []byte
		finishErr error // nil: Finish succeeds and the mismatch shows later
	}{
		{"flipped key bit", func(t *testing.T, b []byte) []byte {
			return mutateServerHello(t, b, func(m *pb.ServerHello) { m.EphemeralKey[5] ^= 0x10 })
		}, nil},
		{"other nonce", func(t *testing.T, b []byte) []byte {
			return mutateServerHello(t, b, func(m *pb.ServerHello) { m.Nonce[0] ^= 1 })
		}, nil},
		{"unknown field appended", func(t *testing.T, b []byte) []byte {
			return protowire.AppendVarint(protowire.AppendTag(bytes.Clone(b), 99, protowire.VarintType), 1)
		}, nil},
		{"low-order key", func(t *testing.T, b []byte) []byte {
			return mutateServerHello(t, b, func(m *pb.ServerHello) { m.EphemeralKey = make([]byte, 32) })
		}, ErrBadFrame},
		{"short key", func(t *testing.T, b []byte) []byte {
			return mutateServerHello(t, b, func(m *pb.ServerHello) { m.EphemeralKey = m.EphemeralKey[:31] })
		}, ErrBadFrame},
		{"other version", func(t *testing.T, b []byte) []byte {
			return mutateServerHello(t, b, func(m *pb.ServerHello) { m.Version = 2 })
		}, ErrVersion},
		{"truncated", func(t *testing.T, b []byte) []byte { return b[:len(b)-1] }, ErrBadFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secret := testSecret(3)
			ch, clientHello, err := NewClientHandshake("dev-1", secret)
			require.NoError(t, err)
			sh, serverHello, err := AcceptClientHello(clientHello)
			require.NoError(t, err)

			client, helloMsg, err := ch.Finish(tc.tamper(t, serverHello), &pb.Hello{})
			if tc.finishErr != nil {
				require.ErrorIs(t, err, tc.finishErr)
				return
			}
			require.NoError(t, err)
			// The transcripts differ, so do the keys: neither side can
			// open what the other sealed.
			_, err = sh.VerifyHello(secret, helloMsg)
			require.ErrorIs(t, err, ErrBadFrame)
			_, err = client.Open(seal(t, sh.Codec(), welcomeFrame(sh.WelcomeProof(secret))))
			require.ErrorIs(t, err, ErrBadFrame)
			// Even a correctly keyed Welcome with the real server's proof
			// fails: the proof covers the transcript.
			require.ErrorIs(t, ch.VerifyWelcome(&pb.Welcome{Proof: sh.WelcomeProof(secret)}), ErrAuth)
		})
	}
}

// TestHandshakeManInTheMiddle puts an attacker that does not know the secret
// between client and server, answering the client with its own ServerHello.
func TestHandshakeManInTheMiddle(t *testing.T) {
	t.Parallel()
	secret := testSecret(4)
	ch, clientHello, err := NewClientHandshake("dev-1", secret)
	require.NoError(t, err)
	genuine, _, err := AcceptClientHello(clientHello)
	require.NoError(t, err)
	mitm, mitmHello, err := AcceptClientHello(clientHello)
	require.NoError(t, err)

	client, helloMsg, err := ch.Finish(mitmHello, &pb.Hello{})
	require.NoError(t, err)

	// The attacker shares keys with the client, so it can read the Hello,
	// but it cannot check the proof without the secret...
	_, err = mitm.VerifyHello(testSecret(5), helloMsg)
	require.ErrorIs(t, err, ErrAuth)
	// ...nor forge a Welcome the client accepts...
	f, err := client.Open(seal(t, mitm.Codec(), welcomeFrame(mitm.WelcomeProof(testSecret(5)))))
	require.NoError(t, err)
	require.ErrorIs(t, ch.VerifyWelcome(f.GetWelcome()), ErrAuth)
	// ...and the real server cannot open the relayed Hello.
	_, err = genuine.VerifyHello(secret, helloMsg)
	require.ErrorIs(t, err, ErrBadFrame)
}

func TestVerifyHelloFirstFrame(t *testing.T) {
	t.Parallel()
	secret := testSecret(6)
	for _, tc := range []struct {
		name  string
		first func(c *Codec, proof []byte) []byte
		want  error
	}{
		{"ping", func(c *Codec, _ []byte) []byte {
			msg, _ := c.Seal(nil, &pb.Frame{Body: &pb.Frame_Ping{Ping: &pb.Ping{TimeMs: 1}}})
			return msg
		}, ErrBadFrame},
		{"unknown frame type", func(c *Codec, _ []byte) []byte {
			return c.SealRaw(nil, protowire.AppendBytes(protowire.AppendTag(nil, 40, protowire.BytesType), nil))
		}, ErrBadFrame},
		{"empty frame", func(c *Codec, _ []byte) []byte { return c.SealRaw(nil, nil) }, ErrBadFrame},
		{"garbage", func(c *Codec, _ []byte) []byte { return c.SealRaw(nil, []byte{0xff, 0xff}) }, ErrBadFrame},
		{"hello without proof", func(c *Codec, _ []byte) []byte {
			msg, _ := c.Seal(nil, &pb.Frame{Body: &pb.Frame_Hello{Hello: &pb.Hello{Epoch: 1}}})
			return msg
		}, ErrAuth},
		{"hello with truncated proof", func(c *Codec, p []byte) []byte {
			msg, _ := c.Seal(nil, &pb.Frame{Body: &pb.Frame_Hello{Hello: &pb.Hello{Proof: p[:31]}}})
			return msg
		}, ErrAuth},
		{"second frame first", func(c *Codec, _ []byte) []byte {
			c.sendCtr = 1
			msg, _ := c.Seal(nil, &pb.Frame{Body: &pb.Frame_Hello{Hello: &pb.Hello{}}})
			return msg
		}, ErrReorder},
		{"unsealed hello behind counter 0", func(_ *Codec, p []byte) []byte {
			b, _ := proto.Marshal(&pb.Frame{Body: &pb.Frame_Hello{Hello: &pb.Hello{Proof: p}}})
			return append(make([]byte, counterLen), b...)
		}, ErrBadFrame},
		{"empty message", func(*Codec, []byte) []byte { return nil }, ErrBadFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ch, clientHello, err := NewClientHandshake("dev-1", secret)
			require.NoError(t, err)
			sh, serverHello, err := AcceptClientHello(clientHello)
			require.NoError(t, err)
			client, helloMsg, err := ch.Finish(serverHello, nil)
			require.NoError(t, err)
			// The real Hello is discarded; a rewound codec seals the test's
			// first frame with counter 0.
			first := tc.first(rewound(client), proofOf(t, sh, secret, helloMsg))
			_, err = sh.VerifyHello(secret, first)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// proofOf opens a copy of the server's codec to read the client's proof out
// of its sealed Hello without disturbing the server's counters.
func proofOf(t *testing.T, sh *ServerHandshake, secret, helloMsg []byte) []byte {
	t.Helper()
	c := *sh.Codec()
	f, err := c.Open(helloMsg)
	require.NoError(t, err)
	require.Len(t, f.GetHello().GetProof(), 32)
	return f.GetHello().GetProof()
}

func TestFinishNilHello(t *testing.T) {
	t.Parallel()
	secret := testSecret(7)
	ch, clientHello, err := NewClientHandshake("dev-1", secret)
	require.NoError(t, err)
	sh, serverHello, err := AcceptClientHello(clientHello)
	require.NoError(t, err)
	_, helloMsg, err := ch.Finish(serverHello, nil)
	require.NoError(t, err)
	h, err := sh.VerifyHello(secret, helloMsg)
	require.NoError(t, err)
	require.Zero(t, h.GetEpoch())
	require.Zero(t, h.GetLastSeq())
}

func TestVerifyWelcomeBeforeFinish(t *testing.T) {
	t.Parallel()
	ch, _, err := NewClientHandshake("dev-1", testSecret(8))
	require.NoError(t, err)
	require.ErrorIs(t, ch.VerifyWelcome(&pb.Welcome{Proof: make([]byte, 32)}), ErrAuth)
}

func TestNewClientHandshakeSecretSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		size int
		ok   bool
	}{{0, false}, {15, false}, {16, true}, {32, true}, {64, true}} {
		t.Run(sizeName(tc.size), func(t *testing.T) {
			t.Parallel()
			ch, hello, err := NewClientHandshake("dev-1", make([]byte, tc.size))
			if !tc.ok {
				require.Error(t, err)
				require.Nil(t, ch)
				return
			}
			require.NoError(t, err)
			parsed, err := ParseClientHello(hello)
			require.NoError(t, err)
			require.Equal(t, "dev-1", parsed.GetDeviceId())
		})
	}
}

// TestHandshakeFreshness checks that two handshakes never share ephemeral
// keys, nonces or session keys.
func TestHandshakeFreshness(t *testing.T) {
	t.Parallel()
	a := handshake(t, "dev-1", testSecret(9))
	b := handshake(t, "dev-1", testSecret(9))
	ca, err := ParseClientHello(a.clientHello)
	require.NoError(t, err)
	cb, err := ParseClientHello(b.clientHello)
	require.NoError(t, err)
	require.NotEqual(t, ca.GetEphemeralKey(), cb.GetEphemeralKey())
	require.NotEqual(t, ca.GetNonce(), cb.GetNonce())
	sa, err := ParseServerHello(a.serverHello)
	require.NoError(t, err)
	sb, err := ParseServerHello(b.serverHello)
	require.NoError(t, err)
	require.NotEqual(t, sa.GetEphemeralKey(), sb.GetEphemeralKey())
	require.NotEqual(t, sa.GetNonce(), sb.GetNonce())
	require.NotEqual(t, a.ch.transcript, b.ch.transcript)
}

func TestAcceptClientHelloErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		hello     func(t *testing.T) []byte
		want      error
		code      Code
		retryable bool
	}{
		{"version 2", func(t *testing.T) []byte {
			return clientHello(t, func(m *pb.ClientHello) { m.Version = 2 })
		}, ErrVersion, CodeUnsupportedVersion, false},
		{"low-order key", func(t *testing.T) []byte {
			return clientHello(t, func(m *pb.ClientHello) { m.EphemeralKey = make([]byte, 32) })
		}, ErrBadFrame, CodeBadFrame, true},
		{"short key", func(t *testing.T) []byte {
			return clientHello(t, func(m *pb.ClientHello) { m.EphemeralKey = m.EphemeralKey[:16] })
		}, ErrBadFrame, CodeBadFrame, true},
		{"oversized", func(t *testing.T) []byte {
			return clientHello(t, func(m *pb.ClientHello) { m.Nonce = make([]byte, MaxHelloSize) })
		}, ErrFrameTooLarge, CodeFrameTooLarge, true},
		{"garbage", func(*testing.T) []byte { return []byte{0x0a, 0xff} }, ErrBadFrame, CodeBadFrame, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sh, serverHello, err := AcceptClientHello(tc.hello(t))
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, sh)
			require.Nil(t, serverHello)
			require.Equal(t, tc.code, CodeOf(err))
			require.Equal(t, tc.retryable, CodeOf(err).Retryable())
		})
	}
}

func TestParseClientHello(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(m *pb.ClientHello)
		want   error
	}{
		{"valid", func(*pb.ClientHello) {}, nil},
		{"version 0", func(m *pb.ClientHello) { m.Version = 0 }, ErrBadFrame}, // no version: not a client hello at all
		{"version 2", func(m *pb.ClientHello) { m.Version = 2 }, ErrVersion},
		{"empty device id", func(m *pb.ClientHello) { m.DeviceId = "" }, ErrBadFrame},
		{"device id 128 bytes", func(m *pb.ClientHello) { m.DeviceId = strings.Repeat("d", 128) }, nil},
		{"device id 129 bytes", func(m *pb.ClientHello) { m.DeviceId = strings.Repeat("d", 129) }, ErrBadFrame},
		{"key 0 bytes", func(m *pb.ClientHello) { m.EphemeralKey = nil }, ErrBadFrame},
		{"key 31 bytes", func(m *pb.ClientHello) { m.EphemeralKey = make([]byte, 31) }, ErrBadFrame},
		{"key 33 bytes", func(m *pb.ClientHello) { m.EphemeralKey = make([]byte, 33) }, ErrBadFrame},
		{"nonce 0 bytes", func(m *pb.ClientHello) { m.Nonce = nil }, ErrBadFrame},
		{"nonce 15 bytes", func(m *pb.ClientHello) { m.Nonce = make([]byte, 15) }, ErrBadFrame},
		{"nonce 17 bytes", func(m *pb.ClientHello) { m.Nonce = make([]byte, 17) }, ErrBadFrame},
		{"oversized", func(m *pb.ClientHello) { m.DeviceId = strings.Repeat("d", MaxHelloSize) }, ErrFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseClientHello(clientHello(t, tc.mutate))
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.EqualValues(t, Version, got.GetVersion())
		})
	}

	t.Run("not protobuf", func(t *testing.T) {
		t.Parallel()
		_, err := ParseClientHello([]byte("GET / HTTP/1.1\r\n"))
		require.ErrorIs(t, err, ErrBadFrame)
	})
	t.Run("invalid utf-8 device id", func(t *testing.T) {
		t.Parallel()
		b := clientHello(t, func(m *pb.ClientHello) { m.DeviceId = "" })
		b = protowire.AppendBytes(protowire.AppendTag(b, 2, protowire.BytesType), []byte{0xff, 0xfe})
		_, err := ParseClientHello(b)
		require.ErrorIs(t, err, ErrBadFrame)
	})
	t.Run("unknown fields ignored", func(t *testing.T) {
		t.Parallel()
		b := clientHello(t, func(*pb.ClientHello) {})
		b = protowire.AppendBytes(protowire.AppendTag(b, 50, protowire.BytesType), []byte("future"))
		got, err := ParseClientHello(b)
		require.NoError(t, err)
		require.Equal(t, "dev-1", got.GetDeviceId())
	})
}

func TestParseServerHello(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(m *pb.ServerHello)
		want   error
	}{
		{"valid", func(*pb.ServerHello) {}, nil},
		{"version 0", func(m *pb.ServerHello) { m.Version = 0 }, ErrVersion},
		{"version 2", func(m *pb.ServerHello) { m.Version = 2 }, ErrVersion},
		{"key 31 bytes", func(m *pb.ServerHello) { m.EphemeralKey = make([]byte, 31) }, ErrBadFrame},
		{"key 33 bytes", func(m *pb.ServerHello) { m.EphemeralKey = make([]byte, 33) }, ErrBadFrame},
		{"nonce 15 bytes", func(m *pb.ServerHello) { m.Nonce = make([]byte, 15) }, ErrBadFrame},
		{"nonce 17 bytes", func(m *pb.ServerHello) { m.Nonce = make([]byte, 17) }, ErrBadFrame},
		{"oversized", func(m *pb.ServerHello) { m.Nonce = make([]byte, MaxHelloSize) }, ErrFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &pb.ServerHello{Version: Version, EphemeralKey: newPublicKey(t), Nonce: make([]byte, 16)}
			tc.mutate(m)
			b, err := proto.Marshal(m)
			require.NoError(t, err)
			got, err := ParseServerHello(b)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.EqualValues(t, Version, got.GetVersion())
		})
	}

	t.Run("not protobuf", func(t *testing.T) {
		t.Parallel()
		_, err := ParseServerHello([]byte{0x12, 0x40, 0x01})
		require.ErrorIs(t, err, ErrBadFrame)
	})
}

// clientHello encodes a valid ClientHello after mutate has changed it.
func clientHello(t *testing.T, mutate func(m *pb.ClientHello)) []byte {
	t.Helper()
	m := &pb.ClientHello{Version: Version, DeviceId: "dev-1", EphemeralKey: newPublicKey(t), Nonce: make([]byte, 16)}
	mutate(m)
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	return b
}

// mutateServerHello decodes an encoded ServerHello, changes it and encodes it
// again.
func mutateServerHello(t *testing.T, b []byte, mutate func(m *pb.ServerHello)) []byte {
	t.Helper()
	m := new(pb.ServerHello)
	require.NoError(t, proto.Unmarshal(b, m))
	mutate(m)
	out, err := proto.Marshal(m)
	require.NoError(t, err)
	return out
}

func newPublicKey(t *testing.T) []byte {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k.PublicKey().Bytes()
}
