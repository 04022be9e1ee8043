package cache

import "errors"

// Errors of the cache.
var (
	// ErrTooLarge means an entry does not fit in one shard's share of
	// MaxBytes and there is no spill store to take it.
	ErrTooLarge = errors.New("cache: entry too large")
	// ErrConfig means the configuration cannot work.
	ErrConfig = errors.New("cache: invalid config")
)
