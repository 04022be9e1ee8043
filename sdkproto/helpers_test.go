package sdkproto

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/sdkproto/pb"
)

// testSecret returns a 32-byte device secret filled with b.
func testSecret(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// session is the outcome of one successful handshake between a client and
// a server that share secret.
type session struct {
	client, server *Codec
	ch             *ClientHandshake
	sh             *ServerHandshake
	clientHello    []byte
	serverHello    []byte
	hello          *pb.Hello   // as the server verified it
	welcome        *pb.Welcome // as the client opened it
}

// handshake runs a full handshake, Welcome included, and fails the test on
// any error.
func handshake(t testing.TB, deviceID string, secret []byte) *session {
	t.Helper()
	ch, clientHello, err := NewClientHandshake(deviceID, secret)
	require.NoError(t, err)
	sh, serverHello, err := AcceptClientHello(clientHello)
	require.NoError(t, err)
	client, helloMsg, err := ch.Finish(serverHello, &pb.Hello{Epoch: 7, LastSeq: 41, Sdk: "go/test"})
	require.NoError(t, err)
	hello, err := sh.VerifyHello(secret, helloMsg)
	require.NoError(t, err)
	server := sh.Codec()
	welcomeMsg, err := server.Seal(nil, welcomeFrame(sh.WelcomeProof(secret)))
	require.NoError(t, err)
	f, err := client.Open(welcomeMsg)
	require.NoError(t, err)
	require.NotNil(t, f.GetWelcome())
	require.NoError(t, ch.VerifyWelcome(f.GetWelcome()))
	return &session{
		client: client, server: server, ch: ch, sh: sh,
		clientHello: clientHello, serverHello: serverHello,
		hello: hello, welcome: f.GetWelcome(),
	}
}

func welcomeFrame(proof []byte) *pb.Frame {
	return &pb.Frame{Body: &pb.Frame_Welcome{Welcome: &pb.Welcome{
		Proof:        proof,
		SessionId:    "s-1",
		HeartbeatMs:  25000,
		Epoch:        7,
		HeadSeq:      44,
		ServerTimeMs: 1_700_000_000_000,
	}}}
}

func pushFrame(seq uint64, body string) *pb.Frame {
	return &pb.Frame{Body: &pb.Frame_Push{Push: &pb.Push{
		PushId: "p-" + body, Seq: seq, Epoch: 7, Title: "t", Body: body,
		Data: map[string]string{"k": "v"},
	}}}
}

func ackFrame(seq uint64) *pb.Frame {
	return &pb.Frame{Body: &pb.Frame_Ack{Ack: &pb.Ack{Seq: seq, Epoch: 7}}}
}

// seal seals f with c and fails the test on error.
func seal(t testing.TB, c *Codec, f *pb.Frame) []byte {
	t.Helper()
	msg, err := c.Seal(nil, f)
	require.NoError(t, err)
	return msg
}

// requireFrame checks that got carries the same frame as want.
func requireFrame(t testing.TB, want, got *pb.Frame) {
	t.Helper()
	require.True(t, proto.Equal(want, got), "want %v, got %v", want, got)
}

// rewound returns a copy of c whose send counter is back at zero, to seal a
// different first frame for the same session.
func rewound(c *Codec) *Codec {
	d := *c
	d.sendCtr = 0
	return &d
}

// flip returns a copy of b with bit bit of byte i inverted.
func flip(b []byte, i int, bit uint) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1 << bit
	return c
}

func sizeName(n int) string { return fmt.Sprintf("size=%d", n) }
