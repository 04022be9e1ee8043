package webpushfake

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrDecrypt is wrapped by Decrypt's errors.
var ErrDecrypt = errors.New("webpushfake: cannot decrypt")

// Decrypt opens an aes128gcm body (RFC 8188) encrypted for a user agent
// with private key ua and authentication secret auth (RFC 8291). It reads
// any number of records and removes their padding.
func Decrypt(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, fmt.Errorf("%w: short header", ErrDecrypt)
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if rs < 18 || len(body) < 21+idlen {
		return nil, fmt.Errorf("%w: bad header", ErrDecrypt)
	}
	gcm, nonce, err := keys(ua, auth, body[21:21+idlen], salt)
	if err != nil {
		return nil, err
	}
	return openRecords(gcm, nonce, body[21+idlen:], int(rs))
}

// keys derives the AEAD and base nonce from the sender's public key (the
// header's keyid) as RFC 8291 section 3.4 and RFC 8188 section 2.2 say.
func keys(ua *ecdh.PrivateKey, auth, keyid, salt []byte) (cipher.AEAD, []byte, error) {
	as, err := ecdh.P256().NewPublicKey(keyid)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: keyid is not a P-256 key", ErrDecrypt)
	}
	secret, err := ua.ECDH(as)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	info := append(append([]byte("WebPush: info\x00"), ua.PublicKey().Bytes()...), keyid...)
	prkKey := hmacSHA256(auth, secret)
	ikm := hmacSHA256(prkKey, append(info, 1))
	prk := hmacSHA256(salt, ikm)
	cek := hmacSHA256(prk, []byte("Content-Encoding: aes128gcm\x00\x01"))[:16]
	nonce := hmacSHA256(prk, []byte("Content-Encoding: nonce\x00\x01"))[:12]
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, nil, err
	}
	gcm, err := cipher.NewGCM(block)
	return gcm, nonce, err
}

// hmacSHA256 is one HKDF step written out as RFC 8291 section 3.4 does.
func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func openRecords(gcm cipher.AEAD, base []byte, data []byte, rs int) ([]byte, error) {
	out := make([]byte, 0, len(data))
	for seq := uint64(0); ; seq++ {
		n := min(rs, len(data))
		if n <= gcm.Overhead() {
			return nil, fmt.Errorf("%w: truncated record", ErrDecrypt)
		}
		plain, err := gcm.Open(nil, recordNonce(base, seq), data[:n], nil)
		if err != nil {
			return nil, fmt.Errorf("%w: record %d: authentication failed", ErrDecrypt, seq)
		}
		data = data[n:]
		content, delim, err := unpad(plain)
		if err != nil {
			return nil, err
		}
		out = append(out, content...)
		last := delim == 2
		if last != (len(data) == 0) {
			return nil, fmt.Errorf("%w: record %d: wrong delimiter", ErrDecrypt, seq)
		}
		if last {
			return out, nil
		}
	}
}

// recordNonce XORs the sequence number into the low bytes of the nonce.
func recordNonce(base []byte, seq uint64) []byte {
	n := bytes.Clone(base)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		n[4+i] ^= s[i]
	}
	return n
}

// unpad strips trailing zero padding and returns the content and its
// delimiter (1 for a non-final record, 2 for the final one).
func unpad(p []byte) ([]byte, byte, error) {
	i := len(p) - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 || (p[i] != 1 && p[i] != 2) {
		return nil, 0, fmt.Errorf("%w: no padding delimiter", ErrDecrypt)
	}
	return p[:i], p[i], nil
}
