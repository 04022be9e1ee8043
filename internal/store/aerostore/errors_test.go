package aerostore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

func TestMapErr(t *testing.T) {
	t.Parallel()
	aeroErr := func(c types.ResultCode) error { return &as.AerospikeError{ResultCode: c} }
	for _, c := range []struct {
		name string
		err  error
		want []error // sentinels the result wraps
		not  []error // sentinels it must not wrap
	}{
		{"key_not_found", aeroErr(types.KEY_NOT_FOUND_ERROR), []error{store.ErrNotFound}, []error{store.ErrUnavailable}},
		{"timeout", aeroErr(types.TIMEOUT), []error{store.ErrUnavailable}, []error{store.ErrNotFound}},
		{"network", aeroErr(types.NETWORK_ERROR), []error{store.ErrUnavailable}, nil},
		{"no_response", aeroErr(types.NO_RESPONSE), []error{store.ErrUnavailable}, nil},
		{"server_not_available", aeroErr(types.SERVER_NOT_AVAILABLE), []error{store.ErrUnavailable}, nil},
		{"invalid_node", aeroErr(types.INVALID_NODE_ERROR), []error{store.ErrUnavailable}, nil},
		{"pool_exhausted", aeroErr(types.NO_AVAILABLE_CONNECTIONS_TO_NODE), []error{store.ErrUnavailable}, nil},
		{"max_retries", aeroErr(types.MAX_RETRIES_EXCEEDED), []error{store.ErrUnavailable}, nil},
		{"partition_unavailable", aeroErr(types.PARTITION_UNAVAILABLE), []error{store.ErrUnavailable}, nil},
		{"device_overload", aeroErr(types.DEVICE_OVERLOAD), []error{store.ErrUnavailable}, nil},
		{"key_busy", aeroErr(types.KEY_BUSY), []error{store.ErrUnavailable}, nil},
		{"generation", aeroErr(types.GENERATION_ERROR), []error{ErrContended, store.ErrUnavailable}, nil},
		{"key_exists", aeroErr(types.KEY_EXISTS_ERROR), []error{ErrContended}, nil},
		{"record_too_big", aeroErr(types.RECORD_TOO_BIG), []error{ErrRecordTooBig}, []error{store.ErrUnavailable}},
		{"parameter", aeroErr(types.PARAMETER_ERROR), nil, []error{store.ErrUnavailable, store.ErrNotFound, ErrContended}},
		{"wrapped", fmt.Errorf("outer: %w", aeroErr(types.TIMEOUT)), []error{store.ErrUnavailable}, nil},
		{"deadline", context.DeadlineExceeded, []error{store.ErrUnavailable}, nil},
		{"plain", errors.New("boom"), nil, []error{store.ErrUnavailable}},
		{"closed", ErrClosed, []error{ErrClosed, store.ErrUnavailable}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := mapErr(context.Background(), "op", c.err)
			require.Error(t, got)
			for _, w := range c.want {
				require.ErrorIs(t, got, w)
			}
			for _, n := range c.not {
				require.NotErrorIs(t, got, n)
			}
			if c.name != "closed" && c.name != "deadline" && c.name != "plain" {
				require.Contains(t, got.Error(), "aerostore: op")
			}
		})
	}
}

func TestMapErrNil(t *testing.T) {
	t.Parallel()
	require.NoError(t, mapErr(context.Background(), "op", nil))
	var typedNil *as.AerospikeError
	require.NoError(t, mapErr(context.Background(), "op", typedNil))
	var ifaceNil as.Error
	require.NoError(t, mapErr(context.Background(), "op", asError(ifaceNil)))
}

func TestMapErrCanceledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := mapErr(ctx, "op", &as.AerospikeError{ResultCode: types.TIMEOUT})
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, store.ErrUnavailable, "the caller gave up; the cluster is not to blame")
}

func TestCode(t *testing.T) {
	t.Parallel()
	require.Equal(t, codeOK, code(nil))
	require.Equal(t, codeNotFound, code(fmt.Errorf("x: %w", &as.AerospikeError{ResultCode: types.KEY_NOT_FOUND_ERROR})))
	require.Equal(t, codeNotAnswered, code(errors.New("x")))
	require.True(t, inDoubt(&as.AerospikeError{ResultCode: types.TIMEOUT, InDoubt: true}))
	require.False(t, inDoubt(&as.AerospikeError{ResultCode: types.KEY_BUSY}))
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	require.True(t, retryable(&as.AerospikeError{ResultCode: types.KEY_BUSY}))
	require.False(t, retryable(&as.AerospikeError{ResultCode: types.KEY_BUSY, InDoubt: true}))
	require.True(t, retryable(&as.AerospikeError{ResultCode: types.RECORD_TOO_BIG}))
	require.False(t, retryable(&as.AerospikeError{ResultCode: types.TIMEOUT}))
}

func TestConnectErr(t *testing.T) {
	t.Parallel()
	err := connectErr("h:1", &as.AerospikeError{ResultCode: types.INVALID_NODE_ERROR})
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorContains(t, err, "h:1")
	err = connectErr("h:1", &as.AerospikeError{ResultCode: types.NOT_AUTHENTICATED})
	require.NotErrorIs(t, err, store.ErrUnavailable, "wrong credentials are not an outage")
	require.ErrorContains(t, err, "h:1")
}
