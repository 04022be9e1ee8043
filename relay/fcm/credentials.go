package fcm

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// Scope is the OAuth 2.0 scope for sending with FCM.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// defaultTokenLife is assumed when the token endpoint gives no expires_in.
const defaultTokenLife = 30 * time.Minute

// serviceAccount is the part of a Google service-account key file the
// sender uses.
type serviceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`

	publicKey []byte // of PrivateKey, DER: names the shared token
}

// parseServiceAccount decodes and checks a service-account key file.
func parseServiceAccount(b []byte) (serviceAccount, error) {
	var sa serviceAccount
	if err := json.Unmarshal(b, &sa); err != nil {
		return sa, fmt.Errorf("service account json: %w", err)
	}
	if sa.Type != "service_account" {
		return sa, fmt.Errorf("service account json: type %q, want service_account", sa.Type)
	}
	if sa.ClientEmail == "" {
		return sa, errors.New("service account json: client_email is missing")
	}
	pub, err := publicKey(sa.PrivateKey)
	if err != nil {
		return sa, fmt.Errorf("service account json: private_key: %w", err)
	}
	sa.publicKey = pub
	return sa, nil
}

// publicKey accepts the PEM keys the JWT signer can use and returns the
// public half, DER-encoded.
func publicKey(p string) ([]byte, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		rsaKey, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("neither PKCS#8 nor PKCS#1")
		}
		key = rsaKey
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return x509.MarshalPKIXPublicKey(signer.Public())
}

// fetchToken trades a signed JWT for an access token.
func (s *Sender) fetchToken(ctx context.Context) (sendkit.Token, error) {
	tok, err := s.jwt.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, s.http)).Token()
	if err != nil {
		return sendkit.Token{}, tokenError(ctx, err)
	}
	exp := tok.Expiry
	if exp.IsZero() {
		exp = time.Now().Add(defaultTokenLife)
	}
	return sendkit.Token{Value: tok.AccessToken, Expiry: exp}, nil
}

// tokenError maps a failed token fetch: a refusal of the service account is
// bad credentials, throttling and 5xx are retryable, and so is a transport
// failure.
func tokenError(ctx context.Context, err error) error {
	var rerr *oauth2.RetrieveError
	if !errors.As(err, &rerr) || rerr.Response == nil {
		return sendkit.TransportError(ctx, Vendor, err)
	}
	status := rerr.Response.StatusCode
	if status == http.StatusTooManyRequests || status >= 500 {
		return &relay.RetryError{Vendor: Vendor, Status: status, Reason: "oauth token endpoint",
			After: sendkit.RetryAfter(rerr.Response.Header, time.Now())}
	}
	code := rerr.ErrorCode
	if code == "" {
		code = oauthErrorCode(rerr.Body)
	}
	if code = sendkit.Reason(code, ""); code == "" {
		code = http.StatusText(status)
	}
	return fmt.Errorf("fcm: oauth token: status %d %s: %w", status, code, relay.ErrBadCredentials)
}

// oauthErrorCode reads the "error" member of an RFC 6749 error response.
func oauthErrorCode(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error
}
