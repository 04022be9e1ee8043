// Package secretbox seals secrets at rest (vendor credentials) with
// AES-256-GCM under a key from the configuration. Each sealed value is bound
// to a context string (e.g. "app/vendor") so that it cannot be moved to
// another slot.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// KeySize is the key length in bytes.
const KeySize = 32

// version prefixes every sealed value so the scheme can change.
const version = 1

// ErrOpen means a sealed value did not authenticate: wrong key, wrong
// context, or tampering.
var ErrOpen = errors.New("secretbox: cannot open sealed value")

// Box seals and opens values under one key. It is safe for concurrent use.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// ParseKey decodes a base64 (standard or URL, padded or not) 32-byte key.
func ParseKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("secretbox: key must be %d bytes in base64", KeySize)
}

// Seal encrypts plain bound to context.
func (b *Box) Seal(plain []byte, context string) []byte {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	out[0] = version
	rand.Read(out[1:]) //nolint:errcheck // never fails
	return b.aead.Seal(out, out[1:], plain, []byte(context))
}

// Open decrypts a value sealed with the same key and context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
