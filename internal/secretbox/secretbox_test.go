package secretbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{1}, KeySize)
	b, err := New(key)
	require.NoError(t, err)
	sealed := b.Seal([]byte("p8 key"), "app/apns")
	require.NotContains(t, string(sealed), "p8 key")
	plain, err := b.Open(sealed, "app/apns")
	require.NoError(t, err)
	require.Equal(t, "p8 key", string(plain))

	_, err = b.Open(sealed, "app/fcm")
	require.True(t, errors.Is(err, ErrOpen), "bound to its context")
	other, _ := New(bytes.Repeat([]byte{2}, KeySize))
	_, err = other.Open(sealed, "app/apns")
	require.True(t, errors.Is(err, ErrOpen), "another key")
	sealed[len(sealed)-1] ^= 1
	_, err = b.Open(sealed, "app/apns")
	require.True(t, errors.Is(err, ErrOpen), "tampered")
	_, err = New([]byte("short"))
	require.Error(t, err)
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0xfb}, KeySize)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		got, err := ParseKey(enc.EncodeToString(key))
		require.NoError(t, err)
		require.Equal(t, key, got)
	}
	_, err := ParseKey("dG9vIHNob3J0")
	require.Error(t, err)
}

func FuzzOpen(f *testing.F) {
	b, _ := New(bytes.Repeat([]byte{1}, KeySize))
	f.Add(b.Seal([]byte("x"), "c"))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, in []byte) {
		if out, err := b.Open(in, "c"); err == nil && string(out) != "x" {
			t.Fatalf("forged value opened: %q", out)
		}
	})
}
