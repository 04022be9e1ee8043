package sdkproto

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCodeOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want Code
	}{
		{ErrBadFrame, CodeBadFrame},
		{ErrReplay, CodeReplay},
		{ErrReorder, CodeReplay},
		{ErrFrameTooLarge, CodeFrameTooLarge},
		{ErrVersion, CodeUnsupportedVersion},
		{ErrAuth, CodeAuthFailed},
		{ErrUnknownFrame, CodeUnexpectedFrame},
		{fmt.Errorf("read frame: %w", ErrReplay), CodeReplay},
		{fmt.Errorf("%w: client hello: eof", ErrBadFrame), CodeBadFrame},
		{fmt.Errorf("outer: %w", fmt.Errorf("%w: 2", ErrVersion)), CodeUnsupportedVersion},
		{io.EOF, CodeInternal},
		{&PeerError{Code: CodeAuthFailed}, CodeInternal},
		{errors.New("sdkproto: bad frame"), CodeInternal}, // same text, not the sentinel
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, CodeOf(tc.err))
		})
	}
}

func TestCodeRetryable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code Code
		want bool
	}{
		{1001, true}, // going away
		{1006, true}, // abnormal closure: the network dropped
		{CodeInternal, true},
		{CodeShutdown, true},
		{CodeSlowConsumer, true},
		{CodeHandshakeTimeout, true},
		{CodeBadFrame, true},
		{CodeReplay, true},
		{CodeStale, true},
		{CodeFrameTooLarge, true},
		{CodeUnexpectedFrame, true},
		{CodeRedirect, true},
		{4499, true},
		{4500, false},
		{CodeAuthFailed, false},
		{CodeUnsupportedVersion, false},
		{CodeReplaced, false},
		{4999, false},
	} {
		t.Run(fmt.Sprintf("code=%d", tc.code), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.code.Retryable())
		})
	}
}

func TestCodeString(t *testing.T) {
	t.Parallel()
	seen := map[string]Code{}
	for c := range codeNames {
		name := c.String()
		require.NotContains(t, seen, name, "codes %d and %d share a name", c, seen[name])
		seen[name] = c
		require.True(t, c >= 4000 && c <= 4999, "code %d outside the private range", c)
	}
	require.Equal(t, "auth_failed", CodeAuthFailed.String())
	require.Equal(t, "replay", CodeReplay.String())
	require.Equal(t, "code_4321", Code(4321).String())
}

func TestPeerError(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("session: %w", &PeerError{Code: CodeReplaced, Message: "newer session"})
	var pe *PeerError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, CodeReplaced, pe.Code)
	require.False(t, pe.Code.Retryable())
	require.Equal(t, "peer error 4502 (replaced): newer session", pe.Error())
}
