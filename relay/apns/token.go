package apns

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/sideshow/apns2/token"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// providerTokenLife is how long a provider token is used. APNs accepts one
// for an hour after its iat and refuses a new one more often than every 20
// minutes; the cache replaces it 5 minutes before this, at 45 minutes.
const providerTokenLife = 50 * time.Minute

// providerTokens returns the cache of provider tokens (JWTs) for token
// auth with cfg's .p8 key, kept in shared when it is not nil. The shared
// key names the team, the key id and the public key, so that only holders
// of the signing key get its tokens.
func providerTokens(cfg Config, shared sendkit.SharedTokens) (*sendkit.TokenCache, error) {
	if cfg.KeyID == "" || cfg.TeamID == "" {
		return nil, errors.New("apns: config: token auth needs key id and team id")
	}
	key, err := token.AuthKeyFromBytes(cfg.AuthKey)
	if err != nil {
		return nil, fmt.Errorf("apns: config: auth key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("apns: config: auth key: %w", err)
	}
	sign := func(context.Context) (sendkit.Token, error) { return signProviderToken(key, cfg.KeyID, cfg.TeamID) }
	return sendkit.NewSharedTokenCache(sign, nil, shared, sendkit.TokenKey(Vendor, cfg.TeamID, cfg.KeyID, string(pub))), nil
}

// signProviderToken signs a new provider token.
func signProviderToken(key *ecdsa.PrivateKey, keyID, teamID string) (sendkit.Token, error) {
	t := &token.Token{AuthKey: key, KeyID: keyID, TeamID: teamID}
	if _, err := t.Generate(); err != nil {
		return sendkit.Token{}, fmt.Errorf("apns: sign provider token: %v: %w", err, relay.ErrBadCredentials)
	}
	return sendkit.Token{Value: t.Bearer, Expiry: time.Unix(t.IssuedAt, 0).Add(providerTokenLife)}, nil
}
