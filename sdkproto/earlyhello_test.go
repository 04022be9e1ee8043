package sdkproto

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEarlyHelloRoundTrip(t *testing.T) {
	_, ch, err := NewClientHandshake("dev-1", testSecret(1))
	require.NoError(t, err)
	offered := EarlyHelloProtocols(ch)
	require.Equal(t, []string{SubprotocolEarlyHello, Subprotocol}, offered[:2])

	// As one header value, the way a client joins them, and as several.
	for _, values := range [][]string{{strings.Join(offered, ", ")}, offered, {" " + strings.Join(offered, " ,\t") + " "}} {
		got, ok, err := EarlyHello(values)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, ch, got)
		_, _, err = AcceptClientHello(got)
		require.NoError(t, err)
	}
}

func TestEarlyHelloNotAsked(t *testing.T) {
	token := earlyHelloPrefix + base64.RawURLEncoding.EncodeToString([]byte("x"))
	for name, values := range map[string][]string{
		"no header":            nil,
		"plain subprotocol":    {Subprotocol},
		"token without asking": {Subprotocol + ", " + token},
		"asking without token": {SubprotocolEarlyHello + ", " + Subprotocol},
		"prefix of the name":   {"mopush.v1.hell, " + token},
		"empty list elements":  {" , ,"},
	} {
		t.Run(name, func(t *testing.T) {
			got, ok, err := EarlyHello(values)
			require.NoError(t, err)
			require.False(t, ok)
			require.Nil(t, got)
		})
	}
}

func TestEarlyHelloRejects(t *testing.T) {
	long := strings.Repeat("A", base64.RawURLEncoding.EncodedLen(MaxHelloSize)+1)
	for name, tc := range map[string]struct {
		token string
		want  error
	}{
		"padding":           {"QQ==", ErrBadFrame},
		"standard alphabet": {"ab+/", ErrBadFrame},
		"stray bits":        {"QR", ErrBadFrame},
		"too long":          {long, ErrFrameTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			_, ok, err := EarlyHello([]string{SubprotocolEarlyHello, earlyHelloPrefix + tc.token})
			require.True(t, ok)
			require.ErrorIs(t, err, tc.want)
		})
	}
	_, ok, err := EarlyHello([]string{SubprotocolEarlyHello + ", " + earlyHelloPrefix + "QQ, " + earlyHelloPrefix + "QQ"})
	require.True(t, ok)
	require.ErrorIs(t, err, ErrBadFrame)

	// The largest hello allowed still decodes.
	max := bytes.Repeat([]byte{7}, MaxHelloSize)
	got, ok, err := EarlyHello(EarlyHelloProtocols(max))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, max, got)
}

func FuzzEarlyHello(f *testing.F) {
	_, ch, err := NewClientHandshake("dev-1", testSecret(1))
	require.NoError(f, err)
	f.Add(strings.Join(EarlyHelloProtocols(ch), ", "))
	f.Add(SubprotocolEarlyHello + "," + earlyHelloPrefix + "QQ==")
	f.Add(SubprotocolEarlyHello + ", " + earlyHelloPrefix)
	f.Add(Subprotocol)
	f.Fuzz(func(t *testing.T, header string) {
		got, ok, err := EarlyHello([]string{header})
		if err != nil {
			require.True(t, ok)
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("error %v is neither ErrBadFrame nor ErrFrameTooLarge", err)
			}
			return
		}
		if !ok {
			require.Nil(t, got)
			return
		}
		require.LessOrEqual(t, len(got), MaxHelloSize)
		again, ok, err := EarlyHello(EarlyHelloProtocols(got))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, got, again)
		// What the server then parses is checked like a first message.
		if _, err := ParseClientHello(got); err != nil {
			requireSentinel(t, err)
		}
	})
}
