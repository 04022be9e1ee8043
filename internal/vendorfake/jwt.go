package vendorfake

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// ErrBadJWT is returned for a token that is malformed or whose signature
// does not verify.
var ErrBadJWT = errors.New("vendorfake: bad jwt")

// JWT is a compact JWS whose header and claims were decoded but whose
// signature is not verified until VerifyES256 or VerifyRS256 says so.
type JWT struct {
	Header map[string]any
	Claims map[string]any
	signed []byte
	sig    []byte
}

// ParseJWT decodes the three base64url parts of a compact JWS. Header and
// claims must be JSON objects; numbers decode as json.Number.
func ParseJWT(s string) (*JWT, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: %d parts", ErrBadJWT, len(parts))
	}
	var j JWT
	if err := decodeSegment(parts[0], &j.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrBadJWT, err)
	}
	if err := decodeSegment(parts[1], &j.Claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrBadJWT, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadJWT, err)
	}
	j.sig = sig
	j.signed = []byte(parts[0] + "." + parts[1])
	return &j, nil
}

func decodeSegment(seg string, v *map[string]any) error {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if *v == nil {
		return errors.New("not an object")
	}
	return nil
}

// HeaderString returns a string header parameter, or "".
func (j *JWT) HeaderString(name string) string {
	s, _ := j.Header[name].(string)
	return s
}

// ClaimString returns a string claim, or "".
func (j *JWT) ClaimString(name string) string {
	s, _ := j.Claims[name].(string)
	return s
}

// ClaimInt returns an integer claim and whether it is one.
func (j *JWT) ClaimInt(name string) (int64, bool) {
	n, ok := j.Claims[name].(json.Number)
	if !ok {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// VerifyES256 checks an ES256 signature (r||s, 64 bytes) with pub.
func (j *JWT) VerifyES256(pub *ecdsa.PublicKey) error {
	if j.HeaderString("alg") != "ES256" {
		return fmt.Errorf("%w: alg %q", ErrBadJWT, j.HeaderString("alg"))
	}
	if len(j.sig) != 64 || pub == nil {
		return fmt.Errorf("%w: signature length %d", ErrBadJWT, len(j.sig))
	}
	h := sha256.Sum256(j.signed)
	r := new(big.Int).SetBytes(j.sig[:32])
	s := new(big.Int).SetBytes(j.sig[32:])
	if !ecdsa.Verify(pub, h[:], r, s) {
		return fmt.Errorf("%w: signature", ErrBadJWT)
	}
	return nil
}

// VerifyRS256 checks an RS256 (RSASSA-PKCS1-v1_5 SHA-256) signature with pub.
func (j *JWT) VerifyRS256(pub *rsa.PublicKey) error {
	if j.HeaderString("alg") != "RS256" {
		return fmt.Errorf("%w: alg %q", ErrBadJWT, j.HeaderString("alg"))
	}
	if pub == nil {
		return fmt.Errorf("%w: no key", ErrBadJWT)
	}
	h := sha256.Sum256(j.signed)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], j.sig); err != nil {
		return fmt.Errorf("%w: signature", ErrBadJWT)
	}
	return nil
}
