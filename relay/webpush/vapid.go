package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// maxVAPIDCache bounds the per-origin token cache; subscriptions name
// their push service, so the origins are few unless something is wrong.
const maxVAPIDCache = 1024

// GenerateVAPIDKeys makes a new application server key pair: the private
// key as base64url of its 32-byte scalar (Config.VAPIDPrivateKey) and the
// public key as base64url of its uncompressed point (the applicationServerKey
// browsers subscribe with).
func GenerateVAPIDKeys() (privateKey, publicKey string, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	priv, err := k.Bytes()
	if err != nil {
		return "", "", err
	}
	pub, err := k.PublicKey.Bytes()
	if err != nil {
		return "", "", err
	}
	return base64.RawURLEncoding.EncodeToString(priv), base64.RawURLEncoding.EncodeToString(pub), nil
}

type vapidToken struct {
	header string
	exp    time.Time
}

// vapid signs and caches VAPID tokens (RFC 8292) per push service origin.
type vapid struct {
	key     *ecdsa.PrivateKey
	pub     string // base64url uncompressed point, the "k" parameter
	subject string
	life    time.Duration

	mu    sync.Mutex
	cache map[string]vapidToken
}

func newVAPID(privateKey, subject string, life time.Duration) (*vapid, error) {
	raw, err := decodeB64(privateKey)
	if err != nil {
		return nil, fmt.Errorf("vapid private key: %w", err)
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		return nil, fmt.Errorf("vapid private key: %w", err)
	}
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	return &vapid{key: key, pub: base64.RawURLEncoding.EncodeToString(pub), subject: subject,
		life: life, cache: make(map[string]vapidToken)}, nil
}

// authorization returns the Authorization header value for a push to aud,
// reusing a token until half its life is left.
func (v *vapid) authorization(aud string, now time.Time) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if t, ok := v.cache[aud]; ok && t.exp.Sub(now) > v.life/2 {
		return t.header, nil
	}
	exp := now.Add(v.life)
	jwt, err := v.sign(aud, exp)
	if err != nil {
		return "", err
	}
	if len(v.cache) >= maxVAPIDCache {
		clear(v.cache)
	}
	h := "vapid t=" + jwt + ", k=" + v.pub
	v.cache[aud] = vapidToken{header: h, exp: exp}
	return h, nil
}

// sign makes an ES256 JWT with the aud, exp and sub claims.
func (v *vapid) sign(aud string, exp time.Time) (string, error) {
	claims, err := json.Marshal(map[string]any{"aud": aud, "exp": exp.Unix(), "sub": v.subject})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`)) + "." + enc.EncodeToString(claims)
	h := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, v.key, h[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig), nil
}
