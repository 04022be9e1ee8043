package vendorfake

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestServerSpeaksHTTP2(t *testing.T) {
	t.Parallel()
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}), nil)
	t.Cleanup(srv.Close)
	resp, err := Client(srv).Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "HTTP/2.0", string(body))
}

func TestScriptQueueThenToken(t *testing.T) {
	t.Parallel()
	var s Script
	s.FailToken("a", Fault{Status: 410})
	s.FailNext(2, Fault{Status: 503, RetryAfter: 1500 * time.Millisecond})
	for range 2 {
		f, ok := s.TakeFault("a")
		require.True(t, ok)
		require.Equal(t, 503, f.Status)
		h := http.Header{}
		f.SetRetryAfter(h)
		require.Equal(t, "2", h.Get("Retry-After"))
	}
	f, ok := s.TakeFault("a")
	require.True(t, ok)
	require.Equal(t, 410, f.Status)
	_, ok = s.TakeFault("b")
	require.False(t, ok)
	s.ClearToken("a")
	_, ok = s.TakeFault("a")
	require.False(t, ok)
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	var r Recorder[int]
	r.Hit()
	r.Accept(1)
	r.Hit()
	r.DiscardReceived(true)
	r.Accept(2)
	require.Equal(t, 2, r.Requests())
	require.Equal(t, 2, r.Count())
	require.Empty(t, r.Received())
	r.DiscardReceived(false)
	r.Accept(3)
	last, ok := r.Last()
	require.True(t, ok)
	require.Equal(t, 3, last)
	r.ResetReceived()
	require.Zero(t, r.Count())
}

func signES256(t *testing.T, key *ecdsa.PrivateKey, signed string) string {
	h := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	require.NoError(t, err)
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestJWTES256(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tok := signES256(t, key, seg(`{"alg":"ES256","kid":"K"}`)+"."+seg(`{"iss":"T","iat":42}`))
	j, err := ParseJWT(tok)
	require.NoError(t, err)
	require.NoError(t, j.VerifyES256(&key.PublicKey))
	require.ErrorIs(t, j.VerifyES256(&other.PublicKey), ErrBadJWT)
	require.ErrorIs(t, j.VerifyRS256(nil), ErrBadJWT)
	require.Equal(t, "K", j.HeaderString("kid"))
	require.Equal(t, "T", j.ClaimString("iss"))
	iat, ok := j.ClaimInt("iat")
	require.True(t, ok)
	require.EqualValues(t, 42, iat)
}

func TestJWTRS256(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	signed := seg(`{"alg":"RS256"}`) + "." + seg(`{"iss":"x"}`)
	h := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	require.NoError(t, err)
	j, err := ParseJWT(signed + "." + base64.RawURLEncoding.EncodeToString(sig))
	require.NoError(t, err)
	require.NoError(t, j.VerifyRS256(&key.PublicKey))
}

func TestParseJWTRejectsMalformed(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "a.b", "a.b.c", seg("[]") + "." + seg("{}") + ".", seg("null") + "." + seg("{}") + "."} {
		_, err := ParseJWT(s)
		require.ErrorIs(t, err, ErrBadJWT, s)
	}
}

func FuzzParseJWT(f *testing.F) {
	f.Add(seg(`{"alg":"ES256"}`) + "." + seg(`{"iat":1}`) + ".AAAA")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		j, err := ParseJWT(s)
		if err != nil {
			return
		}
		_ = j.VerifyES256(nil)
		_, _ = j.ClaimInt("iat")
	})
}
