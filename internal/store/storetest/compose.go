package storetest

import (
	"context"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// Compose is store.Compose, kept here for the suite's harnesses.
type Compose = store.Compose

// AckedCompose is a Compose that also offers R's one-write
// acknowledgements (store.AckRecorder), for a harness whose streams come
// from a store that has them.
type AckedCompose struct {
	Compose
	R store.AckRecorder
}

// AdvanceAcked delegates to R.
func (c AckedCompose) AdvanceAcked(ctx context.Context, deviceID string, through uint64, now time.Time) ([]store.Acked, error) {
	return c.R.AdvanceAcked(ctx, deviceID, through, now)
}
