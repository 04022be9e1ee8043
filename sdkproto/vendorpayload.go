package sdkproto

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// labelVendor derives the key that seals notifications sent through vendor
// channels in the "encrypted" payload mode.
const labelVendor = "mopush/1 vendor payload"

func vendorKey(secret []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, nil, labelVendor, chacha20poly1305.KeySize)
}

// SealVendorPayload seals plaintext for the device that holds secret:
// XChaCha20-Poly1305 under HKDF-SHA256(secret, info "mopush/1 vendor
// payload"), a random 24-byte nonce, encoded base64url without padding as
// nonce || ciphertext.
func SealVendorPayload(secret, plaintext []byte) (string, error) {
	key, err := vendorKey(secret)
	if err != nil {
		return "", err
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	rand.Read(nonce) //nolint:errcheck // never fails
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plaintext, nil)), nil
}

// OpenVendorPayload opens what SealVendorPayload sealed.
func OpenVendorPayload(secret []byte, sealed string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: vendor payload encoding", ErrBadFrame)
	}
	key, err := vendorKey(secret)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	if len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: vendor payload too short", ErrBadFrame)
	}
	out, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}
