package sendkit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/mopush/mopush/internal/store/tokencache"
)

// SharedTokens is a token cache shared by the instances of a cluster, such
// as tokencache.Cache. Get returns key's token, calling refresh at most once
// across the cluster when there is no fresh one; Invalidate discards key's
// token everywhere.
type SharedTokens interface {
	Get(ctx context.Context, key string, refresh tokencache.RefreshFunc) (string, error)
	Invalidate(ctx context.Context, key string) error
}

var _ SharedTokens = (*tokencache.Cache)(nil)

// TokenKey names a vendor credential's token in a SharedTokens: the vendor,
// a colon, and the hex SHA-256 of parts (each length-prefixed, so no two
// lists of parts collide). Parts must together determine the token: the
// credential's ids, the token endpoint, and what proves possession of the
// credential, its public key where it has one, else its secret. Apps that
// upload the same credential share a token; an app that knows only another
// app's ids (client id, key id, team id, none of them secret) gets a key of
// its own, not that app's token. The key never holds a secret, only a hash
// over it.
func TokenKey(vendor string, parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return vendor + ":" + hex.EncodeToString(h.Sum(nil))
}
