package webpush

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrBadSubscription is wrapped by ParseSubscription's errors.
var ErrBadSubscription = errors.New("webpush: bad subscription")

// maxEndpoint bounds the endpoint URL's length.
const maxEndpoint = 2048

// Subscription is a browser's push subscription.
type Subscription struct {
	// Endpoint is the push resource URL to POST messages to.
	Endpoint string
	// P256DH is the user agent's public key, an uncompressed P-256 point.
	P256DH []byte
	// Auth is the 16-byte authentication secret.
	Auth []byte
}

// ParseSubscription decodes a PushSubscription JSON and checks it: an
// absolute https endpoint, a valid P-256 public key, and a 16-byte auth
// secret (base64url, padded or not).
func ParseSubscription(token string) (*Subscription, error) {
	var raw struct {
		Endpoint string `json:"endpoint"`
		Keys     struct {
			P256DH string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(token), &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSubscription, err)
	}
	if err := checkEndpoint(raw.Endpoint); err != nil {
		return nil, err
	}
	pub, err := decodeB64(raw.Keys.P256DH)
	if err != nil {
		return nil, fmt.Errorf("%w: p256dh: %v", ErrBadSubscription, err)
	}
	if _, err := ecdh.P256().NewPublicKey(pub); err != nil {
		return nil, fmt.Errorf("%w: p256dh is not a P-256 point", ErrBadSubscription)
	}
	auth, err := decodeB64(raw.Keys.Auth)
	if err != nil || len(auth) != 16 {
		return nil, fmt.Errorf("%w: auth must be 16 bytes", ErrBadSubscription)
	}
	return &Subscription{Endpoint: raw.Endpoint, P256DH: pub, Auth: auth}, nil
}

func checkEndpoint(endpoint string) error {
	if len(endpoint) > maxEndpoint {
		return fmt.Errorf("%w: endpoint too long", ErrBadSubscription)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%w: endpoint must be an https URL", ErrBadSubscription)
	}
	return nil
}

// decodeB64 accepts URL-safe base64 with or without padding, and the
// standard alphabet some clients send.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// origin is the scheme and host of the endpoint: the VAPID audience.
func (s *Subscription) origin() string {
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// host is the endpoint's host name, without port.
func (s *Subscription) host() string {
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
