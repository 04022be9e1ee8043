package dispatcher

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the NATS KV bucket of live connectors: one key per connector,
// its value the connector's Node as JSON.
const Bucket = "mopush_connectors"

// DefaultTTL is how long a connector's key lives without a refresh, and
// the bucket's TTL when it is created with a zero TTL.
const DefaultTTL = 10 * time.Second

// MinTTL is the smallest TTL accepted; shorter ones are raised to it.
// NATS needs at least one second to keep expiry markers.
const MinTTL = time.Second

// MaxNodeIDLen is the longest node ID, in bytes, that can register.
const MaxNodeIDLen = 128

// keyPlainChars are the bytes a node ID may use to be its own key. "=" is
// left out so that the encoded form below, which starts with "=", never
// collides with a plain ID.
const keyPlainChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."

func normTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return DefaultTTL
	}
	return max(ttl, MinTTL)
}

// nodeKey maps a node ID to its bucket key. IDs made of letters, digits,
// "-", "_" and single inner dots are used as they are (readable in
// `nats kv ls`); any other ID becomes "=" followed by its unpadded
// base64url form, which NATS accepts as a key.
func nodeKey(id string) (string, error) {
	if id == "" || len(id) > MaxNodeIDLen {
		return "", fmt.Errorf("%w: %q", ErrInvalidNodeID, id)
	}
	plain := strings.Trim(id, keyPlainChars) == "" && id[0] != '.' && id[len(id)-1] != '.' &&
		!strings.Contains(id, "..")
	if plain {
		return id, nil
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(id)), nil
}

// decodeNode parses a bucket value and checks that it belongs under key.
func decodeNode(key string, value []byte) (Node, error) {
	var n Node
	if err := json.Unmarshal(value, &n); err != nil {
		return Node{}, fmt.Errorf("decode node: %w", err)
	}
	want, err := nodeKey(n.ID)
	if err != nil {
		return Node{}, err
	}
	if want != key {
		return Node{}, fmt.Errorf("node %q stored under key %q, want %q", n.ID, key, want)
	}
	return n, nil
}

// bucketConfig is the bucket as this package creates it: one revision per
// key, keys expiring after ttl, and limit markers so that watchers see an
// expiry as a purge.
func bucketConfig(ttl time.Duration) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:         Bucket,
		Description:    "live mopush connectors, one key per connector",
		History:        1,
		TTL:            ttl,
		LimitMarkerTTL: ttl,
	}
}

// openBucket opens the bucket, creating it with ttl when it is missing.
// An existing bucket is used as it is.
func openBucket(ctx context.Context, js jetstream.JetStream, ttl time.Duration) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, Bucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("open bucket %s: %w", Bucket, err)
	}
	kv, err = js.CreateKeyValue(ctx, bucketConfig(ttl))
	if errors.Is(err, jetstream.ErrBucketExists) { // created meanwhile with another TTL
		kv, err = js.KeyValue(ctx, Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", Bucket, err)
	}
	return kv, nil
}
