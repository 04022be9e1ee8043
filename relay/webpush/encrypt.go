package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// RFC 8188 and RFC 8291 constants.
const (
	recordSize = 4096
	saltSize   = 16
	keySize    = 65 // an uncompressed P-256 point
	headerSize = saltSize + 4 + 1 + keySize
	tagSize    = 16
	// maxBody is the largest body push services must accept (RFC 8030
	// section 7.2).
	maxBody = 4096
	// MaxPlaintext is the largest message that fits in one record within
	// maxBody: the body holds the header, the plaintext, the 0x02 delimiter
	// and the AEAD tag.
	MaxPlaintext = maxBody - headerSize - 1 - tagSize
)

// lastRecord is the padding delimiter of the final record (RFC 8188
// section 2).
const lastRecord = 0x02

// ErrTooLarge is returned for plaintext longer than MaxPlaintext.
var ErrTooLarge = errors.New("webpush: message too large")

// Encrypt encrypts plaintext for sub with a fresh key pair and salt, as an
// aes128gcm body with one record.
func Encrypt(plaintext []byte, sub *Subscription) ([]byte, error) {
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	return encrypt(plaintext, sub.P256DH, sub.Auth, as, salt)
}

// encrypt is RFC 8291 section 3 with the application server key as and the
// salt given, so the RFC's example can be reproduced.
func encrypt(plaintext, uaPublic, authSecret []byte, as *ecdh.PrivateKey, salt []byte) ([]byte, error) {
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(plaintext), MaxPlaintext)
	}
	cek, nonce, err := deriveKeys(uaPublic, authSecret, as, salt)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, headerSize+len(plaintext)+1+tagSize)
	out = append(out, salt...)
	out = binary.BigEndian.AppendUint32(out, recordSize)
	out = append(out, keySize)
	out = append(out, as.PublicKey().Bytes()...)
	record := append(append(make([]byte, 0, len(plaintext)+1), plaintext...), lastRecord)
	return gcm.Seal(out, nonce, record, nil), nil
}

// deriveKeys computes the content encryption key and nonce: the ECDH
// secret and auth secret give IKM (RFC 8291 section 3.3), and IKM and the
// salt give CEK and NONCE (RFC 8188 section 2.2). The single record has
// sequence number 0, so the nonce is used as derived.
func deriveKeys(uaPublic, authSecret []byte, as *ecdh.PrivateKey, salt []byte) (cek, nonce []byte, err error) {
	ua, err := ecdh.P256().NewPublicKey(uaPublic)
	if err != nil {
		return nil, nil, fmt.Errorf("webpush: p256dh: %w", err)
	}
	secret, err := as.ECDH(ua)
	if err != nil {
		return nil, nil, err
	}
	keyInfo := "WebPush: info\x00" + string(uaPublic) + string(as.PublicKey().Bytes())
	ikm, err := hkdf.Key(sha256.New, secret, authSecret, keyInfo, 32)
	if err != nil {
		return nil, nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, nil, err
	}
	if cek, err = hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16); err != nil {
		return nil, nil, err
	}
	nonce, err = hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	return cek, nonce, err
}
