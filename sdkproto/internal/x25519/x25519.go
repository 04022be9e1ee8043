// Package x25519 is the X25519 key agreement of RFC 7748 for the
// handshake's ephemeral keys, with a key generation about two and a half
// times faster than crypto/ecdh's.
//
// crypto/ecdh computes a public key with the Montgomery ladder, the same
// 255 steps as a key agreement. Here the public key is the fixed-base
// multiplication on the birationally equivalent Edwards curve, where the
// base point's multiples are precomputed, mapped back to its Montgomery u
// coordinate. The key agreement itself is the ladder, as in RFC 7748
// section 5; both are constant time.
package x25519

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Size is the length in bytes of private keys, public keys and shared
// secrets.
const Size = 32

// ErrLowOrder is returned by ECDH for a peer key of small order, whose
// shared secret is all zeros and would not depend on the private key.
var ErrLowOrder = errors.New("x25519: low order peer key")

// PrivateKey is an X25519 private key and its public key.
type PrivateKey struct {
	scalar [Size]byte
	public [Size]byte
}

// GenerateKey returns a new key from Size bytes of r.
func GenerateKey(r io.Reader) (*PrivateKey, error) {
	var b [Size]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("x25519: read random: %w", err)
	}
	return NewPrivateKey(b[:])
}

// NewPrivateKey returns the key whose scalar is b (before clamping, as in
// RFC 7748).
func NewPrivateKey(b []byte) (*PrivateKey, error) {
	if len(b) != Size {
		return nil, fmt.Errorf("x25519: private key of %d bytes, want %d", len(b), Size)
	}
	k := new(PrivateKey)
	copy(k.scalar[:], b)
	s, err := edwards25519.NewScalar().SetBytesWithClamping(k.scalar[:])
	if err != nil {
		return nil, fmt.Errorf("x25519: %w", err)
	}
	// The clamped scalar is a multiple of 8 below 2^255, so it is never a
	// multiple of the base point's order: the product is not the identity,
	// whose u coordinate would be undefined.
	copy(k.public[:], new(edwards25519.Point).ScalarBaseMult(s).BytesMontgomery())
	return k, nil
}

// Bytes returns a copy of the private key as given.
func (k *PrivateKey) Bytes() []byte { return append([]byte(nil), k.scalar[:]...) }

// PublicKey returns a copy of the public key.
func (k *PrivateKey) PublicKey() []byte { return append([]byte(nil), k.public[:]...) }

// ECDH returns the shared secret with the peer's public key. Like
// crypto/ecdh, it takes any 32 bytes as a u coordinate (the top bit is
// ignored, non-canonical values are reduced) and refuses a peer key of
// small order.
func (k *PrivateKey) ECDH(peer []byte) ([]byte, error) {
	if len(peer) != Size {
		return nil, fmt.Errorf("x25519: public key of %d bytes, want %d", len(peer), Size)
	}
	out := ladder(&k.scalar, peer)
	var zero [Size]byte
	if subtle.ConstantTimeCompare(out[:], zero[:]) == 1 {
		return nil, ErrLowOrder
	}
	return out[:], nil
}

// ladder returns X25519(scalar, u) by the Montgomery ladder of RFC 7748
// section 5, with the scalar clamped.
func ladder(scalar *[Size]byte, u []byte) [Size]byte {
	var e [Size]byte
	copy(e[:], scalar[:])
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64

	var x1, x2, z2, x3, z3 field.Element
	if _, err := x1.SetBytes(u); err != nil {
		panic("x25519: " + err.Error()) // unreachable: u has Size bytes
	}
	x2.One()
	x3.Set(&x1)
	z3.One()

	// RFC 7748's step with two temporaries, the other values computed in
	// the variables they replace. z2 uses AA + a24·E = BB + (a24+1)·E,
	// since AA = BB + E. Fewer live values make the step about a tenth
	// faster (BenchmarkECDH).
	var t0, t1 field.Element
	swap := 0
	for t := 254; t >= 0; t-- {
		bit := int(e[t>>3]>>(t&7)) & 1
		swap ^= bit
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = bit

		t0.Subtract(&x3, &z3)  // D
		t1.Subtract(&x2, &z2)  // B
		x2.Add(&x2, &z2)       // A
		z2.Add(&x3, &z3)       // C
		z3.Multiply(&t0, &x2)  // DA
		z2.Multiply(&z2, &t1)  // CB
		t0.Square(&t1)         // BB
		t1.Square(&x2)         // AA
		x3.Add(&z3, &z2)       // DA + CB
		z2.Subtract(&z3, &z2)  // DA - CB
		x2.Multiply(&t1, &t0)  // x2 = AA·BB
		t1.Subtract(&t1, &t0)  // E = AA - BB
		z2.Square(&z2)         // (DA - CB)²
		z3.Mult32(&t1, 121666) // (a24+1)·E, a24 = (486662 - 2) / 4
		x3.Square(&x3)         // x3 = (DA + CB)²
		t0.Add(&t0, &z3)       // BB + (a24+1)·E
		z3.Multiply(&x1, &z2)  // z3 = x1·(DA - CB)²
		z2.Multiply(&t1, &t0)  // z2 = E·(BB + (a24+1)·E)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	var out [Size]byte
	copy(out[:], x2.Bytes())
	return out
}
