package relay

import (
	"errors"
	"fmt"
	"time"
)

// Permanent errors: retrying the same message cannot succeed.
var (
	// ErrBadCredentials means the vendor refused the app's credentials.
	ErrBadCredentials = errors.New("relay: bad vendor credentials")
	// ErrExpired means the message's TTL ran out before it was sent.
	ErrExpired = errors.New("relay: message expired")
	// ErrRejected means the vendor refused the message itself (too large,
	// malformed, topic not allowed, ...).
	ErrRejected = errors.New("relay: message rejected")
)

// DeadTokenError means the device token is no longer valid: the app was
// uninstalled or the token rotated. The token must be removed.
type DeadTokenError struct {
	Vendor string
	Reason string // the vendor's reason, e.g. "Unregistered"
}

func (e *DeadTokenError) Error() string {
	return fmt.Sprintf("relay: %s dead token: %s", e.Vendor, e.Reason)
}

// RetryError means the vendor could not take the message now (throttled,
// unavailable, 5xx); the same message may succeed later.
type RetryError struct {
	Vendor string
	Status int           // HTTP status, 0 for a transport error
	Reason string        // the vendor's reason
	After  time.Duration // from Retry-After; 0 if the vendor gave none
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("relay: %s retryable (status %d): %s", e.Vendor, e.Status, e.Reason)
}

// IsDeadToken reports whether err says the token is dead.
func IsDeadToken(err error) bool {
	var d *DeadTokenError
	return errors.As(err, &d)
}

// IsRetryable reports whether err is worth retrying, and after how long the
// vendor asked to wait (0 if it did not say).
func IsRetryable(err error) (time.Duration, bool) {
	var r *RetryError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}
