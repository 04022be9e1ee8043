package aerostore

import (
	"context"
	"errors"
	"fmt"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"

	"github.com/mopush/mopush/internal/store"
)

var (
	// ErrClosed is returned by calls made after Store.Close. It wraps
	// store.ErrUnavailable.
	ErrClosed = fmt.Errorf("aerostore: closed: %w", store.ErrUnavailable)
	// ErrRecordTooBig means a write would make a record bigger than the
	// namespace's max-record-size (1 MiB by default): the messages of one
	// Append for one device, even with no older message kept, or the index
	// entries of an alias shared by too many devices.
	ErrRecordTooBig = errors.New("aerostore: record too big")
	// ErrContended means a record changed under a read-modify-write more
	// often than the store retries. It wraps store.ErrUnavailable: the
	// caller may try again.
	ErrContended = fmt.Errorf("aerostore: record contended: %w", store.ErrUnavailable)
)

// Result codes the store acts on.
const (
	codeOK          = types.OK
	codeNotFound    = types.KEY_NOT_FOUND_ERROR
	codeGeneration  = types.GENERATION_ERROR
	codeKeyExists   = types.KEY_EXISTS_ERROR
	codeRecordBig   = types.RECORD_TOO_BIG
	codeKeyBusy     = types.KEY_BUSY
	codeNotAnswered = types.ResultCode(-1000) // not an Aerospike error
)

// code returns the result code of an error of the client, codeOK for nil
// and codeNotAnswered for an error that did not come from the client.
func code(err error) types.ResultCode {
	if isNil(err) {
		return codeOK
	}
	var ae *as.AerospikeError
	if errors.As(err, &ae) && ae != nil {
		return ae.ResultCode
	}
	return codeNotAnswered
}

// inDoubt reports whether a failed write may have been applied.
func inDoubt(err error) bool {
	var ae *as.AerospikeError
	return errors.As(err, &ae) && ae != nil && ae.InDoubt
}

// isNil reports whether err is nil, also when it is a nil client error in
// an interface.
func isNil(err error) bool {
	if err == nil {
		return true
	}
	ae, ok := err.(*as.AerospikeError)
	return ok && ae == nil
}

// unavailableCode reports whether a result code says that the cluster could
// not be reached, did not answer in time, or cannot serve now, rather than
// that the request was wrong.
func unavailableCode(c types.ResultCode) bool {
	switch c {
	case types.TIMEOUT,
		types.NETWORK_ERROR,
		types.NO_RESPONSE,
		types.SERVER_NOT_AVAILABLE,
		types.INVALID_NODE_ERROR,
		types.INVALID_CLUSTER_PARTITION_MAP,
		types.INVALID_NAMESPACE, // also "partition map empty" while the cluster forms
		types.NO_AVAILABLE_CONNECTIONS_TO_NODE,
		types.MAX_RETRIES_EXCEEDED,
		types.MAX_ERROR_RATE,
		types.PARTITION_UNAVAILABLE,
		types.CLUSTER_KEY_MISMATCH,
		types.SERVER_MEM_ERROR,
		types.DEVICE_OVERLOAD,
		types.KEY_BUSY,
		types.GRPC_ERROR:
		return true
	}
	return false
}

// mapErr turns an error of the client into the store's errors: a missing
// record is store.ErrNotFound, a cluster that cannot be reached or did not
// answer in time store.ErrUnavailable, a record that would exceed the size
// limit ErrRecordTooBig, and a lost generation race ErrContended, with the
// client's error kept in the chain. what names the operation; ctx is the
// caller's: when it is done, its error is returned instead.
func mapErr(ctx context.Context, what string, err error) error {
	if isNil(err) {
		return nil
	}
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, ErrRecordTooBig) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("aerostore: %s: %w", what, cerr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("aerostore: %s: %w: %w", what, store.ErrUnavailable, err)
	}
	switch c := code(err); {
	case c == codeNotFound:
		return fmt.Errorf("aerostore: %s: %w", what, store.ErrNotFound)
	case c == codeRecordBig:
		return fmt.Errorf("aerostore: %s: %w: %w", what, ErrRecordTooBig, err)
	case c == codeGeneration || c == codeKeyExists:
		return fmt.Errorf("aerostore: %s: %w: %w", what, ErrContended, err)
	case unavailableCode(c):
		return fmt.Errorf("aerostore: %s: %w: %w", what, store.ErrUnavailable, err)
	}
	return fmt.Errorf("aerostore: %s: %w", what, err)
}

// asError turns a client error into an error, nil staying nil.
func asError(err as.Error) error {
	if err == nil {
		return nil
	}
	return err
}
