package store

import "errors"

// Errors every backend returns.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a unique field (app key, id, email) is taken, or a
	// compare-and-set update found another version stored.
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable means the backend could not be reached.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrUnsupported means the backend does not implement the call.
	ErrUnsupported = errors.New("store: unsupported")
)
