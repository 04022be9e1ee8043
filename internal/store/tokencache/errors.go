package tokencache

import "errors"

// Errors of the token cache.
var (
	// ErrBadToken means a refresh function returned an empty token or one
	// that has already expired.
	ErrBadToken = errors.New("tokencache: refresh returned an unusable token")
	// errRedis marks a failed Redis command, after which Get refreshes
	// without sharing.
	errRedis = errors.New("redis")
	// errCorrupt means a value in Redis could not be decoded; Get treats it
	// as missing.
	errCorrupt = errors.New("tokencache: corrupt value")
)
