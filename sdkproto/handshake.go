package sdkproto

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/sdkproto/internal/x25519"
	"github.com/mopush/mopush/sdkproto/pb"
)

// Version is the protocol version this package speaks.
const Version = 1

// Subprotocol is the WebSocket subprotocol name of this version.
const Subprotocol = "mopush.v1"

// MaxHelloSize bounds the plaintext handshake messages, in bytes.
const MaxHelloSize = 1024

const (
	nonceLen      = 16
	keyLen        = 32
	labelKeys     = "mopush/1 keys"
	labelClient   = "mopush/1 client"
	labelServer   = "mopush/1 server"
	labelTranscr  = "mopush/1 transcript"
	minSecretSize = 16
)

// ClientHandshake is the client's side of one handshake.
type ClientHandshake struct {
	secret      []byte
	priv        *x25519.PrivateKey
	clientHello []byte
	transcript  []byte
}

// NewClientHandshake starts a handshake for a device and returns the encoded
// ClientHello to send.
func NewClientHandshake(deviceID string, secret []byte) (*ClientHandshake, []byte, error) {
	if len(secret) < minSecretSize {
		return nil, nil, fmt.Errorf("device secret shorter than %d bytes", minSecretSize)
	}
	priv, err := x25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("ephemeral key: %w", err)
	}
	return newClientHandshake(deviceID, secret, priv, randomBytes(nonceLen))
}

// newClientHandshake is NewClientHandshake with a given ephemeral key and
// nonce, so that tests can reproduce a handshake byte for byte.
func newClientHandshake(deviceID string, secret []byte, priv *x25519.PrivateKey, nonce []byte) (*ClientHandshake, []byte, error) {
	hello := &pb.ClientHello{
		Version:      Version,
		DeviceId:     deviceID,
		EphemeralKey: priv.PublicKey(),
		Nonce:        nonce,
	}
	b, err := proto.Marshal(hello)
	if err != nil {
		return nil, nil, fmt.Errorf("encode client hello: %w", err)
	}
	return &ClientHandshake{secret: secret, priv: priv, clientHello: b}, b, nil
}

// Finish takes the server's ServerHello and returns the session codec and the
// sealed Hello frame to send, which proves the device secret and carries the
// client's stream position. Finish sets hello.Proof; a nil hello is sent as an
// empty Hello (no stream position).
func (h *ClientHandshake) Finish(serverHello []byte, hello *pb.Hello) (*Codec, []byte, error) {
	if hello == nil {
		hello = new(pb.Hello)
	}
	sh, err := ParseServerHello(serverHello)
	if err != nil {
		return nil, nil, err
	}
	shared, err := h.priv.ECDH(sh.EphemeralKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: key agreement: %v", ErrBadFrame, err)
	}
	h.transcript = transcript(h.clientHello, serverHello)
	c2s, s2c, err := sessionKeys(shared, h.transcript)
	if err != nil {
		return nil, nil, err
	}
	codec, err := newCodec(c2s, s2c)
	if err != nil {
		return nil, nil, err
	}
	hello.Proof = proof(h.secret, labelClient, h.transcript)
	msg, err := codec.Seal(nil, &pb.Frame{Body: &pb.Frame_Hello{Hello: hello}})
	if err != nil {
		return nil, nil, err
	}
	return codec, msg, nil
}

// VerifyWelcome checks the server's proof: only a server that knows the
// device secret can produce it.
func (h *ClientHandshake) VerifyWelcome(w *pb.Welcome) error {
	if h.transcript == nil {
		return fmt.Errorf("%w: handshake not finished", ErrAuth)
	}
	if !hmac.Equal(w.GetProof(), proof(h.secret, labelServer, h.transcript)) {
		return ErrAuth
	}
	return nil
}

// ServerHandshake is the server's side of one handshake.
type ServerHandshake struct {
	// Hello is the client's decoded ClientHello.
	Hello      *pb.ClientHello
	transcript []byte
	codec      *Codec
}

// ParseClientHello decodes and checks a ClientHello.
func ParseClientHello(b []byte) (*pb.ClientHello, error) {
	if len(b) > MaxHelloSize {
		return nil, ErrFrameTooLarge
	}
	ch := new(pb.ClientHello)
	if err := proto.Unmarshal(b, ch); err != nil {
		return nil, fmt.Errorf("%w: client hello: %v", ErrBadFrame, err)
	}
	if ch.Version == 0 {
		return nil, fmt.Errorf("%w: not a client hello", ErrBadFrame)
	}
	if ch.Version != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, ch.Version)
	}
	if ch.DeviceId == "" || len(ch.DeviceId) > 128 {
		return nil, fmt.Errorf("%w: device id", ErrBadFrame)
	}
	if len(ch.EphemeralKey) != keyLen || len(ch.Nonce) != nonceLen {
		return nil, fmt.Errorf("%w: key or nonce size", ErrBadFrame)
	}
	return ch, nil
}

// ParseServerHello decodes and checks a ServerHello.
func ParseServerHello(b []byte) (*pb.ServerHello, error) {
	if len(b) > MaxHelloSize {
		return nil, ErrFrameTooLarge
	}
	sh := new(pb.ServerHello)
	if err := proto.Unmarshal(b, sh); err != nil {
		return nil, fmt.Errorf("%w: server hello: %v", ErrBadFrame, err)
	}
	if sh.Version != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, sh.Version)
	}
	if len(sh.EphemeralKey) != keyLen || len(sh.Nonce) != nonceLen {
		return nil, fmt.Errorf("%w: key or nonce size", ErrBadFrame)
	}
	return sh, nil
}

// AcceptClientHello parses a ClientHello, agrees the session keys and returns
// the server side of the handshake with the encoded ServerHello to send. The
// device is not yet authenticated: call VerifyHello on the first sealed frame.
func AcceptClientHello(clientHello []byte) (*ServerHandshake, []byte, error) {
	ch, err := ParseClientHello(clientHello)
	if err != nil {
		return nil, nil, err
	}
	priv, err := x25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("ephemeral key: %w", err)
	}
	return acceptClientHello(clientHello, ch, priv, randomBytes(nonceLen))
}

// acceptClientHello is AcceptClientHello with a given ephemeral key and
// nonce, so that tests can reproduce a handshake byte for byte.
func acceptClientHello(clientHello []byte, ch *pb.ClientHello, priv *x25519.PrivateKey, nonce []byte) (*ServerHandshake, []byte, error) {
	shared, err := priv.ECDH(ch.EphemeralKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: key agreement: %v", ErrBadFrame, err)
	}
	sh, err := proto.Marshal(&pb.ServerHello{
		Version:      Version,
		EphemeralKey: priv.PublicKey(),
		Nonce:        nonce,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode server hello: %w", err)
	}
	t := transcript(clientHello, sh)
	c2s, s2c, err := sessionKeys(shared, t)
	if err != nil {
		return nil, nil, err
	}
	codec, err := newCodec(s2c, c2s)
	if err != nil {
		return nil, nil, err
	}
	return &ServerHandshake{Hello: ch, transcript: t, codec: codec}, sh, nil
}

// Codec returns the session codec (sealing server to client).
func (s *ServerHandshake) Codec() *Codec { return s.codec }

// VerifyHello opens the client's first sealed message, checks that it is a
// Hello and that its proof matches the device secret.
func (s *ServerHandshake) VerifyHello(secret, msg []byte) (*pb.Hello, error) {
	f, err := s.codec.Open(msg)
	if errors.Is(err, ErrUnknownFrame) {
		return nil, fmt.Errorf("%w: expected hello", ErrBadFrame)
	}
	if err != nil {
		return nil, err
	}
	h := f.GetHello()
	if h == nil {
		return nil, fmt.Errorf("%w: expected hello", ErrBadFrame)
	}
	if !hmac.Equal(h.Proof, proof(secret, labelClient, s.transcript)) {
		return nil, ErrAuth
	}
	return h, nil
}

// WelcomeProof is the server's proof of the device secret for the Welcome frame.
func (s *ServerHandshake) WelcomeProof(secret []byte) []byte {
	return proof(secret, labelServer, s.transcript)
}

func transcript(clientHello, serverHello []byte) []byte {
	h := sha256.New()
	h.Write([]byte(labelTranscr))
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(clientHello)))
	h.Write(n[:])
	h.Write(clientHello)
	binary.BigEndian.PutUint32(n[:], uint32(len(serverHello)))
	h.Write(n[:])
	h.Write(serverHello)
	return h.Sum(nil)
}

func sessionKeys(shared, transcript []byte) (c2s, s2c []byte, err error) {
	k, err := hkdf.Key(sha256.New, shared, transcript, labelKeys, 2*keyLen)
	if err != nil {
		return nil, nil, fmt.Errorf("derive keys: %w", err)
	}
	return k[:keyLen], k[keyLen:], nil
}

func proof(secret []byte, label string, transcript []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	m.Write(transcript)
	return m.Sum(nil)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return b
}
