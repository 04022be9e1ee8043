package aerostore

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine of the client outlives the tests:
// Close, and a failed Open, stop them all.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
