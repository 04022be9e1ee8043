package redisstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mopush/mopush/internal/store"
)

// ErrClosed is returned by calls made after Close. It wraps
// store.ErrUnavailable.
var ErrClosed = fmt.Errorf("redisstore: closed: %w", store.ErrUnavailable)

// ShardError is the error of a multi-key call that some shards failed. The
// call's results at the positions of the other shards are valid, so a
// caller can use them and send only the failed positions elsewhere.
// errors.Is(err, store.ErrUnavailable) holds when a shard could not be
// reached.
type ShardError struct {
	// Failures lists each failed shard once.
	Failures []ShardFailure
}

// ShardFailure is one shard's part of a ShardError.
type ShardFailure struct {
	// Shard is the shard's name.
	Shard string
	// Positions are the request positions the shard owned, in increasing
	// order.
	Positions []int
	// Err is why it failed.
	Err error
}

// Error joins the errors of the failed shards, which name their shards.
func (e *ShardError) Error() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = f.Err.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the errors of the failed shards.
func (e *ShardError) Unwrap() []error {
	out := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		out[i] = f.Err
	}
	return out
}

// Failed returns the request positions of every failed shard, in no
// particular order.
func (e *ShardError) Failed() []int {
	var out []int
	for _, f := range e.Failures {
		out = append(out, f.Positions...)
	}
	return out
}

// AsShardError returns err as a *ShardError when it is one (or wraps one).
func AsShardError(err error) (*ShardError, bool) {
	var se *ShardError
	ok := errors.As(err, &se)
	return se, ok
}
