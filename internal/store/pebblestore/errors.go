package pebblestore

import (
	"fmt"

	"github.com/mopush/mopush/internal/store"
)

// ErrClosed is returned by calls made after Close. It wraps
// store.ErrUnavailable.
var ErrClosed = fmt.Errorf("pebblestore: closed: %w", store.ErrUnavailable)
