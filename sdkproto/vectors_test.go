package sdkproto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/sdkproto/internal/x25519"
	"github.com/mopush/mopush/sdkproto/pb"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the implementation")

const vectorsFile = "testdata/vectors.json"

// vectors is the layout of testdata/vectors.json; docs/protocol.md describes
// it for SDK authors. Byte strings are lowercase hex.
type vectors struct {
	Comment               string        `json:"comment"`
	Inputs                vectorInputs  `json:"inputs"`
	ClientEphemeralPublic string        `json:"client_ephemeral_public"`
	ServerEphemeralPublic string        `json:"server_ephemeral_public"`
	ClientHello           string        `json:"client_hello"`
	ServerHello           string        `json:"server_hello"`
	SharedSecret          string        `json:"shared_secret"`
	TranscriptHash        string        `json:"transcript_hash"`
	C2SKey                string        `json:"c2s_key"`
	S2CKey                string        `json:"s2c_key"`
	ClientProof           string        `json:"client_proof"`
	ServerProof           string        `json:"server_proof"`
	Frames                []vectorFrame `json:"frames"`
}

type vectorInputs struct {
	DeviceID               string `json:"device_id"`
	DeviceSecret           string `json:"device_secret"`
	DeviceSecretBase64URL  string `json:"device_secret_base64url"`
	ClientEphemeralPrivate string `json:"client_ephemeral_private"`
	ClientNonce            string `json:"client_nonce"`
	ServerEphemeralPrivate string `json:"server_ephemeral_private"`
	ServerNonce            string `json:"server_nonce"`
}

type vectorFrame struct {
	Name      string `json:"name"`
	Direction string `json:"direction"` // "c2s" or "s2c"
	Counter   uint64 `json:"counter"`
	Nonce     string `json:"nonce"`
	Frame     string `json:"frame"`  // the encoded pb.Frame, before sealing
	Sealed    string `json:"sealed"` // the WebSocket message
}

// countingBytes returns n bytes counting up from start.
func countingBytes(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

var vectorInput = struct {
	deviceID             string
	secret, cPriv, sPriv []byte
	cNonce, sNonce       []byte
	hello                *pb.Hello
	welcome              *pb.Welcome
	push                 *pb.Push
	ack                  *pb.Ack
}{
	deviceID: "dev-0001",
	secret:   countingBytes(0x00, 32),
	cPriv:    countingBytes(0x40, 32),
	sPriv:    countingBytes(0x60, 32),
	cNonce:   countingBytes(0xa0, 16),
	sNonce:   countingBytes(0xb0, 16),
	hello:    &pb.Hello{Epoch: 3, LastSeq: 41, Sdk: "vectors/1"},
	welcome: &pb.Welcome{
		SessionId: "sess-0001", HeartbeatMs: 25000, Epoch: 3, HeadSeq: 42,
		ServerTimeMs: 1767225600000,
	},
	push: &pb.Push{
		PushId: "push-0042", Seq: 42, Title: "Hi", Body: "Hello, device",
		SentAtMs: 1767225600000, Epoch: 3,
	},
	ack: &pb.Ack{Seq: 42, Epoch: 3},
}

// buildVectors runs the fixed handshake and exchange through the package and
// records every intermediate value.
func buildVectors(t *testing.T) *vectors {
	t.Helper()
	in := vectorInput
	cPriv, err := x25519.NewPrivateKey(in.cPriv)
	require.NoError(t, err)
	sPriv, err := x25519.NewPrivateKey(in.sPriv)
	require.NoError(t, err)

	ch, clientHello, err := newClientHandshake(in.deviceID, in.secret, cPriv, in.cNonce)
	require.NoError(t, err)
	parsed, err := ParseClientHello(clientHello)
	require.NoError(t, err)
	sh, serverHello, err := acceptClientHello(clientHello, parsed, sPriv, in.sNonce)
	require.NoError(t, err)
	client, helloMsg, err := ch.Finish(serverHello, proto.CloneOf(in.hello))
	require.NoError(t, err)
	server := sh.Codec()

	shared, err := cPriv.ECDH(sPriv.PublicKey())
	require.NoError(t, err)
	c2s, s2c, err := sessionKeys(shared, ch.transcript)
	require.NoError(t, err)
	require.Equal(t, ch.transcript, sh.transcript)

	v := &vectors{
		Comment: "mopush device protocol v1 test vectors; see docs/protocol.md. " +
			"Byte strings are lowercase hex. Regenerate with go test ./sdkproto -run TestVectors -update.",
		Inputs: vectorInputs{
			DeviceID:               in.deviceID,
			DeviceSecret:           hex.EncodeToString(in.secret),
			DeviceSecretBase64URL:  base64.RawURLEncoding.EncodeToString(in.secret),
			ClientEphemeralPrivate: hex.EncodeToString(in.cPriv),
			ClientNonce:            hex.EncodeToString(in.cNonce),
			ServerEphemeralPrivate: hex.EncodeToString(in.sPriv),
			ServerNonce:            hex.EncodeToString(in.sNonce),
		},
		ClientEphemeralPublic: hex.EncodeToString(cPriv.PublicKey()),
		ServerEphemeralPublic: hex.EncodeToString(sPriv.PublicKey()),
		ClientHello:           hex.EncodeToString(clientHello),
		ServerHello:           hex.EncodeToString(serverHello),
		SharedSecret:          hex.EncodeToString(shared),
		TranscriptHash:        hex.EncodeToString(ch.transcript),
		C2SKey:                hex.EncodeToString(c2s),
		S2CKey:                hex.EncodeToString(s2c),
		ClientProof:           hex.EncodeToString(proof(in.secret, labelClient, ch.transcript)),
		ServerProof:           hex.EncodeToString(sh.WelcomeProof(in.secret)),
	}

	// The Hello was sealed by Finish; read its plaintext on a copy of the
	// server's codec, then let the server verify it for real.
	peek := *server
	helloPlain, err := peek.OpenRaw(nil, helloMsg)
	require.NoError(t, err)
	_, err = sh.VerifyHello(in.secret, helloMsg)
	require.NoError(t, err)
	v.Frames = append(v.Frames, vectorFrameOf("hello", "c2s", 0, helloPlain, helloMsg))

	welcome := proto.CloneOf(in.welcome)
	welcome.Proof = sh.WelcomeProof(in.secret)
	v.Frames = append(v.Frames, exchange(t, "welcome", "s2c", server, client,
		&pb.Frame{Body: &pb.Frame_Welcome{Welcome: welcome}}))
	v.Frames = append(v.Frames, exchange(t, "push", "s2c", server, client,
		&pb.Frame{Body: &pb.Frame_Push{Push: in.push}}))
	v.Frames = append(v.Frames, exchange(t, "ack", "c2s", client, server,
		&pb.Frame{Body: &pb.Frame_Ack{Ack: in.ack}}))
	require.NoError(t, ch.VerifyWelcome(welcome))
	return v
}

// exchange seals f on tx, opens it on rx and records it.
func exchange(t *testing.T, name, dir string, tx, rx *Codec, f *pb.Frame) vectorFrame {
	t.Helper()
	ctr := tx.sendCtr
	sealed := seal(t, tx, f)
	plain, err := rx.OpenRaw(nil, sealed)
	require.NoError(t, err)
	got, err := DecodeFrame(plain)
	require.NoError(t, err)
	requireFrame(t, f, got)
	return vectorFrameOf(name, dir, ctr, plain, sealed)
}

func vectorFrameOf(name, dir string, ctr uint64, plain, sealed []byte) vectorFrame {
	n := nonceFor(ctr)
	return vectorFrame{
		Name: name, Direction: dir, Counter: ctr,
		Nonce:  hex.EncodeToString(n[:]),
		Frame:  hex.EncodeToString(plain),
		Sealed: hex.EncodeToString(sealed),
	}
}

func readVectors(t *testing.T) *vectors {
	t.Helper()
	b, err := os.ReadFile(vectorsFile)
	require.NoError(t, err)
	v := new(vectors)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v))
	return v
}

// TestVectors checks that the implementation reproduces testdata/vectors.json
// exactly; with -update it rewrites the file instead.
func TestVectors(t *testing.T) {
	got := buildVectors(t)
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(vectorsFile), 0o755))
		require.NoError(t, os.WriteFile(vectorsFile, append(b, '\n'), 0o644))
		return
	}
	require.Equal(t, readVectors(t), got)
}

// TestVectorsFromSpec recomputes the file from its inputs with nothing but
// the primitives and constants docs/protocol.md names, as an SDK in another
// language would, so that the file, the spec and the code agree.
func TestVectorsFromSpec(t *testing.T) {
	t.Parallel()
	v := readVectors(t)
	in := v.Inputs
	secret := unhex(t, in.DeviceSecret)
	fromB64, err := base64.RawURLEncoding.DecodeString(in.DeviceSecretBase64URL)
	require.NoError(t, err)
	require.Equal(t, secret, fromB64)

	cPriv, err := ecdh.X25519().NewPrivateKey(unhex(t, in.ClientEphemeralPrivate))
	require.NoError(t, err)
	sPriv, err := ecdh.X25519().NewPrivateKey(unhex(t, in.ServerEphemeralPrivate))
	require.NoError(t, err)
	require.Equal(t, v.ClientEphemeralPublic, hex.EncodeToString(cPriv.PublicKey().Bytes()))
	require.Equal(t, v.ServerEphemeralPublic, hex.EncodeToString(sPriv.PublicKey().Bytes()))
	// The handshake's own key code derives the same public keys.
	for _, k := range []*ecdh.PrivateKey{cPriv, sPriv} {
		ours, err := x25519.NewPrivateKey(k.Bytes())
		require.NoError(t, err)
		require.Equal(t, k.PublicKey().Bytes(), ours.PublicKey())
	}

	// ClientHello and ServerHello: fields in field-number order.
	var clientHello, serverHello []byte
	clientHello = protowire.AppendTag(clientHello, 1, protowire.VarintType)
	clientHello = protowire.AppendVarint(clientHello, 1)
	clientHello = protowire.AppendTag(clientHello, 2, protowire.BytesType)
	clientHello = protowire.AppendString(clientHello, in.DeviceID)
	clientHello = protowire.AppendTag(clientHello, 3, protowire.BytesType)
	clientHello = protowire.AppendBytes(clientHello, cPriv.PublicKey().Bytes())
	clientHello = protowire.AppendTag(clientHello, 4, protowire.BytesType)
	clientHello = protowire.AppendBytes(clientHello, unhex(t, in.ClientNonce))
	require.Equal(t, v.ClientHello, hex.EncodeToString(clientHello))
	serverHello = protowire.AppendTag(serverHello, 1, protowire.VarintType)
	serverHello = protowire.AppendVarint(serverHello, 1)
	serverHello = protowire.AppendTag(serverHello, 2, protowire.BytesType)
	serverHello = protowire.AppendBytes(serverHello, sPriv.PublicKey().Bytes())
	serverHello = protowire.AppendTag(serverHello, 3, protowire.BytesType)
	serverHello = protowire.AppendBytes(serverHello, unhex(t, in.ServerNonce))
	require.Equal(t, v.ServerHello, hex.EncodeToString(serverHello))

	shared, err := cPriv.ECDH(sPriv.PublicKey())
	require.NoError(t, err)
	shared2, err := sPriv.ECDH(cPriv.PublicKey())
	require.NoError(t, err)
	require.Equal(t, shared, shared2)
	require.Equal(t, v.SharedSecret, hex.EncodeToString(shared))

	th := sha256.New()
	th.Write([]byte("mopush/1 transcript"))
	th.Write(binary.BigEndian.AppendUint32(nil, uint32(len(clientHello))))
	th.Write(clientHello)
	th.Write(binary.BigEndian.AppendUint32(nil, uint32(len(serverHello))))
	th.Write(serverHello)
	transcript := th.Sum(nil)
	require.Equal(t, v.TranscriptHash, hex.EncodeToString(transcript))

	keys, err := hkdf.Key(sha256.New, shared, transcript, "mopush/1 keys", 64)
	require.NoError(t, err)
	require.Equal(t, v.C2SKey, hex.EncodeToString(keys[:32]))
	require.Equal(t, v.S2CKey, hex.EncodeToString(keys[32:]))

	mac := func(label string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		m.Write(transcript)
		return hex.EncodeToString(m.Sum(nil))
	}
	require.Equal(t, v.ClientProof, mac("mopush/1 client"))
	require.Equal(t, v.ServerProof, mac("mopush/1 server"))

	aeads := map[string][]byte{"c2s": keys[:32], "s2c": keys[32:]}
	next := map[string]uint64{}
	for _, fr := range v.Frames {
		require.Equal(t, next[fr.Direction], fr.Counter, fr.Name)
		next[fr.Direction]++
		aead, err := chacha20poly1305.New(aeads[fr.Direction])
		require.NoError(t, err)
		ctr := binary.BigEndian.AppendUint64(nil, fr.Counter)
		nonce := append(make([]byte, 4), ctr...)
		require.Equal(t, fr.Nonce, hex.EncodeToString(nonce), fr.Name)
		sealed := aead.Seal(bytes.Clone(ctr), nonce, unhex(t, fr.Frame), ctr)
		require.Equal(t, fr.Sealed, hex.EncodeToString(sealed), fr.Name)
	}

	// The proofs travel inside the Hello and Welcome frames.
	hello, err := DecodeFrame(unhex(t, v.Frames[0].Frame))
	require.NoError(t, err)
	require.Equal(t, v.ClientProof, hex.EncodeToString(hello.GetHello().GetProof()))
	welcome, err := DecodeFrame(unhex(t, v.Frames[1].Frame))
	require.NoError(t, err)
	require.Equal(t, v.ServerProof, hex.EncodeToString(welcome.GetWelcome().GetProof()))
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}
