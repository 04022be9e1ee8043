package batch

import "errors"

// Errors of the writer.
var (
	// ErrClosed means the writer has shut down (or is shutting down) and
	// takes no more items, or an item was dropped at the drain deadline.
	ErrClosed = errors.New("batch: writer closed")
	// ErrRunning means Run was called more than once.
	ErrRunning = errors.New("batch: Run called more than once")
)
