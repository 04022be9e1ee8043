package sdkproto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// HTTPAuthScheme is the authorization scheme of device requests over HTTP.
const HTTPAuthScheme = "Mopush-Device"

// labelHTTP starts the signed string of a device HTTP request.
const labelHTTP = "mopush/1 http\n"

// maxHTTPAuthHeader bounds the Authorization header ParseHTTPAuth accepts,
// in bytes; a well-formed one is about 80.
const maxHTTPAuthHeader = 256

// sigLen is the length of a base64url (unpadded) HMAC-SHA256 signature.
const sigLen = 43

// ErrHTTPAuth means a device Authorization header is malformed.
var ErrHTTPAuth = errors.New("sdkproto: malformed device authorization")

// SignHTTP signs a device request: base64url (no padding) of
// HMAC-SHA256(secret, "mopush/1 http\n" + method + "\n" + requestURI + "\n" +
// decimal ts). requestURI is the path and query exactly as sent; ts is Unix
// seconds.
func SignHTTP(secret []byte, method, requestURI string, ts int64) string {
	return base64.RawURLEncoding.EncodeToString(macHTTP(secret, method, requestURI, ts))
}

// HTTPAuthHeader returns the Authorization header value of a device
// request: "Mopush-Device ts=<ts>,sig=<sig>".
func HTTPAuthHeader(secret []byte, method, requestURI string, ts int64) string {
	return HTTPAuthScheme + " ts=" + strconv.FormatInt(ts, 10) + ",sig=" + SignHTTP(secret, method, requestURI, ts)
}

// VerifyHTTP reports, in constant time, whether sig is the signature of
// the request under secret.
func VerifyHTTP(secret []byte, method, requestURI string, ts int64, sig string) bool {
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	return hmac.Equal(got, macHTTP(secret, method, requestURI, ts))
}

func macHTTP(secret []byte, method, requestURI string, ts int64) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(labelHTTP))
	m.Write([]byte(method))
	m.Write([]byte{'\n'})
	m.Write([]byte(requestURI))
	m.Write([]byte{'\n'})
	m.Write(strconv.AppendInt(nil, ts, 10))
	return m.Sum(nil)
}

// ParseHTTPAuth parses a device Authorization header value. The scheme is
// matched without regard to case; the parameters ts and sig must each appear
// once, in either order, separated by a comma and optional spaces. ts is
// decimal Unix seconds without sign or leading zeros; sig is 43 characters
// of base64url. Errors wrap ErrHTTPAuth.
func ParseHTTPAuth(header string) (ts int64, sig string, err error) {
	if len(header) > maxHTTPAuthHeader {
		return 0, "", fmt.Errorf("%w: header too long", ErrHTTPAuth)
	}
	scheme, params, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, HTTPAuthScheme) {
		return 0, "", fmt.Errorf("%w: not the %s scheme", ErrHTTPAuth, HTTPAuthScheme)
	}
	var haveTS, haveSig bool
	for p := range strings.SplitSeq(params, ",") {
		k, v, ok := strings.Cut(strings.Trim(p, " "), "=")
		switch {
		case !ok:
			return 0, "", fmt.Errorf("%w: parameter without value", ErrHTTPAuth)
		case k == "ts" && !haveTS:
			if ts, err = parseTS(v); err != nil {
				return 0, "", err
			}
			haveTS = true
		case k == "sig" && !haveSig:
			if !validSig(v) {
				return 0, "", fmt.Errorf("%w: sig", ErrHTTPAuth)
			}
			sig, haveSig = v, true
		default:
			return 0, "", fmt.Errorf("%w: unknown or repeated parameter", ErrHTTPAuth)
		}
	}
	if !haveTS || !haveSig {
		return 0, "", fmt.Errorf("%w: ts and sig are required", ErrHTTPAuth)
	}
	return ts, sig, nil
}

// parseTS parses a canonical decimal timestamp: digits only, no leading
// zero, within int64.
func parseTS(v string) (int64, error) {
	if v == "" || len(v) > 19 || (v[0] == '0' && len(v) > 1) {
		return 0, fmt.Errorf("%w: ts", ErrHTTPAuth)
	}
	for i := range len(v) {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%w: ts", ErrHTTPAuth)
		}
	}
	ts, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: ts", ErrHTTPAuth)
	}
	return ts, nil
}

// validSig reports whether v is a canonical base64url encoding of 32 bytes.
func validSig(v string) bool {
	if len(v) != sigLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	return err == nil && len(b) == sha256.Size
}
