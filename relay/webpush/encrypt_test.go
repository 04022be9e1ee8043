package webpush

import (
	"crypto/ecdh"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/vendorfake/webpushfake"
)

// The example of RFC 8291 section 5 (keys, salt and output from its
// Appendix A).
const (
	rfcPlaintext = "When I grow up, I want to be a watermelon"
	rfcASPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
	rfcASPublic  = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcUAPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcSalt      = "DGv6ra1nlYgDCS1FRnbzlw"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestEncryptMatchesRFC8291Example(t *testing.T) {
	t.Parallel()
	as, err := ecdh.P256().NewPrivateKey(b64(t, rfcASPrivate))
	require.NoError(t, err)
	require.Equal(t, b64(t, rfcASPublic), as.PublicKey().Bytes())
	got, err := encrypt([]byte(rfcPlaintext), b64(t, rfcUAPublic), b64(t, rfcAuth), as, b64(t, rfcSalt))
	require.NoError(t, err)
	require.Equal(t, rfcBody, base64.RawURLEncoding.EncodeToString(got))
}

func TestEncryptRoundTripsThroughTheFake(t *testing.T) {
	t.Parallel()
	ua, err := ecdh.P256().NewPrivateKey(b64(t, rfcUAPrivate))
	require.NoError(t, err)
	plain, err := webpushfake.Decrypt(b64(t, rfcBody), ua, b64(t, rfcAuth))
	require.NoError(t, err)
	require.Equal(t, rfcPlaintext, string(plain))

	sub := &Subscription{P256DH: ua.PublicKey().Bytes(), Auth: b64(t, rfcAuth)}
	for _, n := range []int{0, 1, 100, MaxPlaintext} {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i)
		}
		body, err := Encrypt(msg, sub)
		require.NoError(t, err)
		require.LessOrEqual(t, len(body), 4096)
		plain, err := webpushfake.Decrypt(body, ua, sub.Auth)
		require.NoError(t, err)
		require.Equal(t, msg, plain)
	}
	_, err = Encrypt(make([]byte, MaxPlaintext+1), sub)
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestEncryptUsesFreshKeys(t *testing.T) {
	t.Parallel()
	ua, err := ecdh.P256().NewPrivateKey(b64(t, rfcUAPrivate))
	require.NoError(t, err)
	sub := &Subscription{P256DH: ua.PublicKey().Bytes(), Auth: b64(t, rfcAuth)}
	a, err := Encrypt([]byte("same"), sub)
	require.NoError(t, err)
	b, err := Encrypt([]byte("same"), sub)
	require.NoError(t, err)
	require.NotEqual(t, a[:16], b[:16], "salt")
	require.NotEqual(t, a[21:86], b[21:86], "application server key")
}
