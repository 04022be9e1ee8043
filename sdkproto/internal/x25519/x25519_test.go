package x25519

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func basePoint() []byte {
	b := make([]byte, Size)
	b[0] = 9
	return b
}

// The scalar multiplication vectors of RFC 7748, section 5.2. The second u
// has its top bit set, which must be ignored.
func TestLadderVectors(t *testing.T) {
	for _, v := range []struct{ k, u, out string }{
		{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
	} {
		k, err := NewPrivateKey(unhex(t, v.k))
		require.NoError(t, err)
		got, err := k.ECDH(unhex(t, v.u))
		require.NoError(t, err)
		require.Equal(t, v.out, hex.EncodeToString(got))
	}
}

// The iterated test of RFC 7748, section 5.2: k and u start at 9, then
// each round k becomes X25519(k, u) and u the old k.
func TestLadderIterated(t *testing.T) {
	k, u := basePoint(), basePoint()
	for i := 1; i <= 1000; i++ {
		var s [Size]byte
		copy(s[:], k)
		r := ladder(&s, u)
		u, k = k, r[:]
		if i == 1 {
			require.Equal(t, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", hex.EncodeToString(k))
		}
	}
	require.Equal(t, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", hex.EncodeToString(k))
}

// The Diffie-Hellman example of RFC 7748, section 6.1: the public keys
// come from the fixed-base path, the secret from the ladder.
func TestDiffieHellmanVector(t *testing.T) {
	alice, err := NewPrivateKey(unhex(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
	require.NoError(t, err)
	bob, err := NewPrivateKey(unhex(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
	require.NoError(t, err)
	require.Equal(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", hex.EncodeToString(alice.PublicKey()))
	require.Equal(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", hex.EncodeToString(bob.PublicKey()))
	const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
	ab, err := alice.ECDH(bob.PublicKey())
	require.NoError(t, err)
	ba, err := bob.ECDH(alice.PublicKey())
	require.NoError(t, err)
	require.Equal(t, shared, hex.EncodeToString(ab))
	require.Equal(t, shared, hex.EncodeToString(ba))
}

// Every public key and shared secret equals crypto/ecdh's for the same
// private keys.
func TestAgreesWithStandardLibrary(t *testing.T) {
	for range 500 {
		ours, err := GenerateKey(rand.Reader)
		require.NoError(t, err)
		std, err := ecdh.X25519().NewPrivateKey(ours.Bytes())
		require.NoError(t, err)
		require.Equal(t, std.PublicKey().Bytes(), ours.PublicKey())

		peer, err := ecdh.X25519().GenerateKey(rand.Reader)
		require.NoError(t, err)
		want, err := std.ECDH(peer.PublicKey())
		require.NoError(t, err)
		got, err := ours.ECDH(peer.PublicKey().Bytes())
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

// Peer keys of small order, canonical or not, give an all-zero secret and
// are refused, as crypto/ecdh refuses them.
func TestLowOrderPeerRefused(t *testing.T) {
	k, err := GenerateKey(rand.Reader)
	require.NoError(t, err)
	std, err := ecdh.X25519().NewPrivateKey(k.Bytes())
	require.NoError(t, err)
	p := func(low byte) string { // 2^255 - 19 + (low - 0xed), little endian
		b := bytes.Repeat([]byte{0xff}, Size)
		b[0], b[Size-1] = low, 0x7f
		return hex.EncodeToString(b)
	}
	for _, u := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000", // 0
		"0100000000000000000000000000000000000000000000000000000000000000", // 1
		p(0xec), // p - 1
		p(0xed), // p, that is 0
		p(0xee), // p + 1, that is 1
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
	} {
		pub := unhex(t, u)
		_, err := k.ECDH(pub)
		require.ErrorIs(t, err, ErrLowOrder, u)
		sp, err := ecdh.X25519().NewPublicKey(pub)
		require.NoError(t, err)
		_, err = std.ECDH(sp)
		require.Error(t, err, "crypto/ecdh refuses %s too", u)
	}
}

func TestSizes(t *testing.T) {
	_, err := NewPrivateKey(make([]byte, Size-1))
	require.Error(t, err)
	k, err := GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, err = k.ECDH(make([]byte, Size+1))
	require.Error(t, err)
	_, err = GenerateKey(bytes.NewReader(make([]byte, Size-1)))
	require.Error(t, err, "a short random source is an error")
}

// Keys hand out copies: changing what Bytes or PublicKey returned does not
// change the key.
func TestCopies(t *testing.T) {
	k, err := GenerateKey(rand.Reader)
	require.NoError(t, err)
	b, pub := k.Bytes(), k.PublicKey()
	b[0]++
	pub[0]++
	require.NotEqual(t, b, k.Bytes())
	require.NotEqual(t, pub, k.PublicKey())
}

// FuzzECDH checks arbitrary private keys and peer keys against crypto/ecdh:
// the same public key, and the same secret or both an error.
func FuzzECDH(f *testing.F) {
	f.Add(make([]byte, Size), basePoint())
	f.Add(bytes.Repeat([]byte{0xff}, Size), bytes.Repeat([]byte{0xff}, Size))
	f.Fuzz(func(t *testing.T, priv, peer []byte) {
		ours, err := NewPrivateKey(priv)
		std, stdErr := ecdh.X25519().NewPrivateKey(priv)
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("private key: ours %v, crypto/ecdh %v", err, stdErr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(ours.PublicKey(), std.PublicKey().Bytes()) {
			t.Fatalf("public keys differ for %x", priv)
		}
		got, err := ours.ECDH(peer)
		sp, stdErr := ecdh.X25519().NewPublicKey(peer)
		var want []byte
		if stdErr == nil {
			want, stdErr = std.ECDH(sp)
		}
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("secret for %x: ours %v, crypto/ecdh %v", peer, err, stdErr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("secrets differ for %x, %x", priv, peer)
		}
		if err != nil && len(peer) == Size && !errors.Is(err, ErrLowOrder) {
			t.Fatalf("a key of the right size failed with %v", err)
		}
	})
}

func BenchmarkGenerateKey(b *testing.B) {
	b.Run("this", func(b *testing.B) {
		for b.Loop() {
			if _, err := GenerateKey(rand.Reader); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-ecdh", func(b *testing.B) {
		for b.Loop() {
			if _, err := ecdh.X25519().GenerateKey(rand.Reader); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkECDH(b *testing.B) {
	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("this", func(b *testing.B) {
		k, err := GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := k.ECDH(peer.PublicKey().Bytes()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-ecdh", func(b *testing.B) {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := k.ECDH(peer.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
