package webpushfake

import (
	"crypto/ecdh"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

// RFC 8291 section 5: the user agent's keys and the message it receives.
const (
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

func rfcInputs(t testing.TB) (*ecdh.PrivateKey, []byte, []byte) {
	dec := base64.RawURLEncoding.DecodeString
	raw, err := dec(rfcUAPrivate)
	require.NoError(t, err)
	ua, err := ecdh.P256().NewPrivateKey(raw)
	require.NoError(t, err)
	auth, err := dec(rfcAuth)
	require.NoError(t, err)
	body, err := dec(rfcBody)
	require.NoError(t, err)
	return ua, auth, body
}

func TestDecryptRFC8291Example(t *testing.T) {
	t.Parallel()
	ua, auth, body := rfcInputs(t)
	plain, err := Decrypt(body, ua, auth)
	require.NoError(t, err)
	require.Equal(t, "When I grow up, I want to be a watermelon", string(plain))

	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-1] ^= 1
	_, err = Decrypt(tampered, ua, auth)
	require.ErrorIs(t, err, ErrDecrypt)
	_, err = Decrypt(body[:40], ua, auth)
	require.ErrorIs(t, err, ErrDecrypt)
}

func FuzzDecrypt(f *testing.F) {
	ua, auth, body := rfcInputs(f)
	f.Add(body)
	f.Add(body[:21])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Decrypt(b, ua, auth)
	})
}
