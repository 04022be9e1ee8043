package sdkproto

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// httpVector is the known answer docs/protocol.md section 16.1 gives.
var httpVector = struct {
	secret     []byte
	ts         int64
	getURI     string
	getSig     string
	postURI    string
	postSig    string
	getHeader  string
	secretB64U string
}{
	secret:     countingBytes(0, 32),
	ts:         1700000000,
	getURI:     "/v1/devices/01HZX3K4R8M6V2Q9T5W7Y0B1CD/messages?since=41&epoch=7&limit=100",
	getSig:     "7WomiVJDpAN2VkATvcJgmzeYX51XZwhuwhRuWgHI-2Q",
	postURI:    "/v1/devices/01HZX3K4R8M6V2Q9T5W7Y0B1CD/acks",
	postSig:    "DIvZinbroduWs9K1DK22_NTctWPPDR_lY3yD10x6ZNw",
	getHeader:  "Mopush-Device ts=1700000000,sig=7WomiVJDpAN2VkATvcJgmzeYX51XZwhuwhRuWgHI-2Q",
	secretB64U: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
}

func TestSignHTTPKnownAnswer(t *testing.T) {
	t.Parallel()
	v := httpVector
	require.Equal(t, v.getSig, SignHTTP(v.secret, "GET", v.getURI, v.ts))
	require.Equal(t, v.postSig, SignHTTP(v.secret, "POST", v.postURI, v.ts))
	require.Equal(t, v.getHeader, HTTPAuthHeader(v.secret, "GET", v.getURI, v.ts))
	require.True(t, VerifyHTTP(v.secret, "GET", v.getURI, v.ts, v.getSig))
}

func TestSignHTTPCoversEveryInput(t *testing.T) {
	t.Parallel()
	v := httpVector
	for name, sig := range map[string]string{
		"secret": SignHTTP(testSecret(1), "GET", v.getURI, v.ts),
		"method": SignHTTP(v.secret, "POST", v.getURI, v.ts),
		"uri":    SignHTTP(v.secret, "GET", strings.Replace(v.getURI, "since=41", "since=42", 1), v.ts),
		"ts":     SignHTTP(v.secret, "GET", v.getURI, v.ts+1),
		// The separators keep the fields apart: moving a byte across one
		// changes the signature.
		"split": SignHTTP(v.secret, "GET\n"+v.getURI[:1], v.getURI[1:], v.ts),
	} {
		t.Run("changed="+name, func(t *testing.T) {
			t.Parallel()
			require.NotEqual(t, v.getSig, sig)
			require.False(t, VerifyHTTP(v.secret, "GET", v.getURI, v.ts, sig))
		})
	}
	require.False(t, VerifyHTTP(v.secret, "GET", v.getURI, v.ts, "not base64!"))
	require.False(t, VerifyHTTP(v.secret, "GET", v.getURI, v.ts, ""))
}

func TestParseHTTPAuth(t *testing.T) {
	t.Parallel()
	sig := httpVector.getSig
	for _, tc := range []struct {
		name, header string
		ts           int64
		ok           bool
	}{
		{"canonical", httpVector.getHeader, 1700000000, true},
		{"scheme case", "mopush-device ts=5,sig=" + sig, 5, true},
		{"reordered", "Mopush-Device sig=" + sig + ",ts=5", 5, true},
		{"spaces", "Mopush-Device  ts=5 , sig=" + sig, 5, true},
		{"zero ts", "Mopush-Device ts=0,sig=" + sig, 0, true},
		{"empty", "", 0, false},
		{"no params", "Mopush-Device", 0, false},
		{"basic", "Basic dXNlcjpwYXNz", 0, false},
		{"other scheme", "Bearer ts=5,sig=" + sig, 0, false},
		{"missing sig", "Mopush-Device ts=5", 0, false},
		{"missing ts", "Mopush-Device sig=" + sig, 0, false},
		{"repeated ts", "Mopush-Device ts=5,ts=6,sig=" + sig, 0, false},
		{"unknown param", "Mopush-Device ts=5,sig=" + sig + ",x=1", 0, false},
		{"empty param", "Mopush-Device ts=5,,sig=" + sig, 0, false},
		{"negative ts", "Mopush-Device ts=-5,sig=" + sig, 0, false},
		{"plus ts", "Mopush-Device ts=+5,sig=" + sig, 0, false},
		{"leading zero", "Mopush-Device ts=05,sig=" + sig, 0, false},
		{"ts overflow", "Mopush-Device ts=9223372036854775808,sig=" + sig, 0, false},
		{"ts not a number", "Mopush-Device ts=1e9,sig=" + sig, 0, false},
		{"short sig", "Mopush-Device ts=5,sig=" + sig[:42], 0, false},
		{"padded sig", "Mopush-Device ts=5,sig=" + sig + "=", 0, false},
		{"std alphabet", "Mopush-Device ts=5,sig=" + strings.ReplaceAll(sig, "-", "+"), 0, false},
		{"quoted", `Mopush-Device ts="5",sig=` + sig, 0, false},
		{"too long", "Mopush-Device ts=5,sig=" + sig + strings.Repeat(" ", 300), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts, got, err := ParseHTTPAuth(tc.header)
			if !tc.ok {
				require.ErrorIs(t, err, ErrHTTPAuth)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.ts, ts)
			require.Equal(t, sig, got)
		})
	}
}

// FuzzParseHTTPAuth checks that the parser never panics, refuses only with
// ErrHTTPAuth, and that what it accepts is canonical: the header rebuilt
// from its result parses to the same values.
func FuzzParseHTTPAuth(f *testing.F) {
	f.Add(httpVector.getHeader)
	f.Add("Mopush-Device sig=" + httpVector.getSig + ",ts=1")
	f.Add("Mopush-Device ts=,sig=")
	f.Add("Mopush-Device ts=1,ts=1")
	f.Add("Mopush-Device ts=99999999999999999999,sig=" + httpVector.getSig)
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		ts, sig, err := ParseHTTPAuth(header)
		if err != nil {
			require.True(t, errors.Is(err, ErrHTTPAuth), "error %v", err)
			require.Zero(t, ts)
			require.Empty(t, sig)
			return
		}
		require.GreaterOrEqual(t, ts, int64(0))
		require.True(t, validSig(sig))
		rebuilt := HTTPAuthScheme + " ts=" + strconv.FormatInt(ts, 10) + ",sig=" + sig
		ts2, sig2, err := ParseHTTPAuth(rebuilt)
		require.NoError(t, err)
		require.Equal(t, ts, ts2)
		require.Equal(t, sig, sig2)
	})
}
