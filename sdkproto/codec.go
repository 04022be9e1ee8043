package sdkproto

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mopush/mopush/sdkproto/pb"
)

// DefaultMaxFrame is the largest sealed message accepted by default, in bytes.
const DefaultMaxFrame = 64 << 10

// counterLen is the size of the explicit frame counter that prefixes every
// sealed message.
const counterLen = 8

// Overhead is the number of bytes sealing adds to a frame's encoding.
const Overhead = counterLen + chacha20poly1305.Overhead

// Codec seals outgoing frames and opens incoming ones for one session. Each
// direction has its own key and a counter that starts at zero, so a frame that
// is replayed, reordered or moved between sessions is refused.
type Codec struct {
	send, recv       cipher.AEAD
	sendCtr, recvCtr uint64
	// MaxFrame is the largest sealed message Open accepts; zero means
	// DefaultMaxFrame.
	MaxFrame int
}

func newCodec(sendKey, recvKey []byte) (*Codec, error) {
	s, err := chacha20poly1305.New(sendKey)
	if err != nil {
		return nil, fmt.Errorf("send key: %w", err)
	}
	r, err := chacha20poly1305.New(recvKey)
	if err != nil {
		return nil, fmt.Errorf("recv key: %w", err)
	}
	return &Codec{send: s, recv: r}, nil
}

func nonceFor(ctr uint64) [chacha20poly1305.NonceSize]byte {
	var n [chacha20poly1305.NonceSize]byte
	binary.BigEndian.PutUint64(n[4:], ctr)
	return n
}

// SealRaw appends the sealed form of an encoded frame to dst and returns it.
// The spare capacity of dst must not overlap plaintext.
func (c *Codec) SealRaw(dst, plaintext []byte) []byte {
	ctr := c.sendCtr
	c.sendCtr++
	start := len(dst)
	dst = binary.BigEndian.AppendUint64(dst, ctr)
	n := nonceFor(ctr)
	return c.send.Seal(dst, n[:], plaintext, dst[start:start+counterLen])
}

// Seal encodes f and appends its sealed form to dst.
func (c *Codec) Seal(dst []byte, f *pb.Frame) ([]byte, error) {
	b, err := proto.Marshal(f)
	if err != nil {
		return dst, fmt.Errorf("encode frame: %w", err)
	}
	return c.SealRaw(dst, b), nil
}

// OpenRaw authenticates and decrypts one sealed message and returns the
// frame's encoding, appended to dst. dst must not overlap msg (decrypting in
// place is not supported). A message that fails leaves the receive counter
// where it was.
func (c *Codec) OpenRaw(dst, msg []byte) ([]byte, error) {
	max := c.MaxFrame
	if max <= 0 {
		max = DefaultMaxFrame
	}
	if len(msg) > max {
		return dst, ErrFrameTooLarge
	}
	if len(msg) < Overhead {
		return dst, ErrBadFrame
	}
	ctr := binary.BigEndian.Uint64(msg[:counterLen])
	switch {
	case ctr < c.recvCtr:
		return dst, ErrReplay
	case ctr > c.recvCtr:
		return dst, ErrReorder
	}
	n := nonceFor(ctr)
	out, err := c.recv.Open(dst, n[:], msg[counterLen:], msg[:counterLen])
	if err != nil {
		return dst, ErrBadFrame
	}
	c.recvCtr++
	return out, nil
}

// Open authenticates, decrypts and decodes one sealed message. An error that
// wraps ErrUnknownFrame leaves the session usable: skip the frame.
func (c *Codec) Open(msg []byte) (*pb.Frame, error) {
	b, err := c.OpenRaw(nil, msg)
	if err != nil {
		return nil, err
	}
	return DecodeFrame(b)
}

// DecodeFrame decodes an opened frame and checks that it has a body. A frame
// whose only content is fields this version does not know (a body type added
// by a later version) gives ErrUnknownFrame; a frame with no content at all
// gives ErrBadFrame.
func DecodeFrame(b []byte) (*pb.Frame, error) {
	if f, ok := decodeAck(b); ok {
		return f, nil
	}
	f := new(pb.Frame)
	if err := proto.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	if f.Body == nil {
		if len(f.ProtoReflect().GetUnknown()) > 0 {
			return nil, ErrUnknownFrame
		}
		return nil, fmt.Errorf("%w: empty frame", ErrBadFrame)
	}
	return f, nil
}

// decodeAck decodes b when it is exactly one Ack frame whose fields are all
// known: the frame a device sends for every push it gets, decoded here
// without the reflection of proto.Unmarshal. ok is false for anything else,
// which DecodeFrame leaves to proto.Unmarshal. Repeated fields keep the
// last value, as proto.Unmarshal does (FuzzDecodeAck).
func decodeAck(b []byte) (f *pb.Frame, ok bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num != 4 || typ != protowire.BytesType {
		return nil, false
	}
	body, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return nil, false
	}
	a := new(pb.Ack)
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 || typ != protowire.VarintType {
			return nil, false
		}
		v, m := protowire.ConsumeVarint(body[n:])
		if m < 0 {
			return nil, false
		}
		switch num {
		case 1:
			a.Seq = v
		case 2:
			a.Epoch = v
		case 3:
			a.BroadcastSeq = v
		case 4:
			a.BroadcastEpoch = v
		default:
			return nil, false
		}
		body = body[n+m:]
	}
	return &pb.Frame{Body: &pb.Frame_Ack{Ack: a}}, true
}
