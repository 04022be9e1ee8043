package mongostore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/mopush/mopush/internal/store"
)

var (
	// ErrClosed is returned by calls made after Store.Close. It wraps
	// store.ErrUnavailable.
	ErrClosed = fmt.Errorf("mongostore: closed: %w", store.ErrUnavailable)
	// ErrSessionClosed is returned by calls on a Session after its Close.
	ErrSessionClosed = errors.New("mongostore: session closed")
	// errContended means an idempotency key changed hands more often than
	// CreatePush retries.
	errContended = errors.New("mongostore: idempotency key contended")
)

// mapErr turns an error of the driver into the store's errors: no document
// is store.ErrNotFound, a duplicate key (or FerretDB's report of one, see
// ferretUniqueViolation) store.ErrConflict, and a server that
// cannot be reached or did not answer in time store.ErrUnavailable, with the
// driver's error kept in the chain. what names the operation; ctx is the
// caller's context: when the caller canceled it, the error is not called
// unavailable.
func mapErr(ctx context.Context, what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict),
		errors.Is(err, store.ErrUnavailable):
		return err
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("mongostore: %s: %w", what, store.ErrNotFound)
	case mongo.IsDuplicateKeyError(err), ferretUniqueViolation(err):
		return fmt.Errorf("mongostore: %s: %w: %w", what, store.ErrConflict, err)
	case errors.Is(err, mongo.ErrClientDisconnected):
		return fmt.Errorf("mongostore: %s: %w", what, ErrClosed)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("mongostore: %s: %w", what, err)
	case unavailable(err):
		return fmt.Errorf("mongostore: %s: %w: %w", what, store.ErrUnavailable, err)
	}
	return fmt.Errorf("mongostore: %s: %w", what, err)
}

// ferretUniqueViolation reports whether err is FerretDB's report of an
// update that broke a unique index. FerretDB 1.24 on SQLite refuses such an
// update in the same step as the write, as MongoDB does, but answers with
// an InternalError that carries SQLite's message instead of a duplicate key
// error (its inserts do answer with a duplicate key).
func ferretUniqueViolation(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCodeWithMessage(ferretInternalError, "UNIQUE constraint failed")
}

// ferretInternalError is the code of FerretDB's InternalError.
const ferretInternalError = 1

// unavailable reports whether err says the server could not be reached or
// did not answer in time.
func unavailable(err error) bool {
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) {
		return true
	}
	if errors.As(err, new(topology.ServerSelectionError)) || errors.As(err, new(topology.ConnectionError)) {
		return true
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		return slices.ContainsFunc(se.ErrorCodes(), unavailableCode)
	}
	return false
}

// unavailableCode reports whether a server error code says the server is
// going away or cannot serve now, rather than that the request was wrong.
func unavailableCode(code int) bool {
	switch code {
	case 6, // HostUnreachable
		7,     // HostNotFound
		89,    // NetworkTimeout
		91,    // ShutdownInProgress
		189,   // PrimarySteppedDown
		9001,  // SocketException
		10107, // NotWritablePrimary
		11600, // InterruptedAtShutdown
		11602, // InterruptedDueToReplStateChange
		13435, // NotPrimaryNoSecondaryOk
		13436: // NotPrimaryOrSecondary
		return true
	}
	return false
}
