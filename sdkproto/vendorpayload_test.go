package sdkproto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVendorPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte{7}, 32)
	sealed, err := SealVendorPayload(secret, []byte(`{"title":"hi"}`))
	require.NoError(t, err)
	out, err := OpenVendorPayload(secret, sealed)
	require.NoError(t, err)
	require.Equal(t, `{"title":"hi"}`, string(out))

	_, err = OpenVendorPayload(bytes.Repeat([]byte{8}, 32), sealed)
	require.True(t, errors.Is(err, ErrAuth), "another device's key")
	again, err := SealVendorPayload(secret, []byte(`{"title":"hi"}`))
	require.NoError(t, err)
	require.NotEqual(t, sealed, again, "fresh nonce each time")
}

func FuzzOpenVendorPayload(f *testing.F) {
	secret := bytes.Repeat([]byte{7}, 32)
	good, _ := SealVendorPayload(secret, []byte("x"))
	f.Add(good)
	f.Add("")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := OpenVendorPayload(secret, s)
		if err == nil && s != good && string(out) != "x" {
			t.Fatalf("forged payload opened: %q", s)
		}
	})
}
