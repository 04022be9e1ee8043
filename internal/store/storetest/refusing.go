package storetest

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/mopush/mopush/internal/store"
)

// ErrRefused is what RefusingCounts answers while it refuses.
var ErrRefused = errors.New("storetest: store unavailable")

// RefusingCounts is a store whose counter writes (AddCounts) fail with
// ErrRefused while Refuse is set, as during a MongoDB election: for tests
// of what keeps counts through an outage.
type RefusingCounts struct {
	store.Store
	Refuse atomic.Bool
}

// AddCounts fails while Refuse is set, and passes the call on otherwise.
func (r *RefusingCounts) AddCounts(ctx context.Context, id string, d store.Counts) error {
	if r.Refuse.Load() {
		return ErrRefused
	}
	return r.Store.AddCounts(ctx, id, d)
}
