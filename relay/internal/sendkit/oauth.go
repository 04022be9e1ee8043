package sendkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mopush/mopush/relay"
)

// defaultOAuthLifetime is assumed when a token answer has no expires_in.
const defaultOAuthLifetime = time.Hour

// OAuthFetcher returns a FetchFunc that runs the OAuth 2.0 client
// credentials grant of cfg over client. Refusals of the credentials are
// relay.ErrBadCredentials; throttling, 5xx and transport failures are
// *relay.RetryError.
func OAuthFetcher(vendor string, cfg *clientcredentials.Config, client *http.Client, now func() time.Time) FetchFunc {
	return func(ctx context.Context) (Token, error) {
		start := now()
		tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
		if err != nil {
			return Token{}, oauthError(ctx, vendor, err, start)
		}
		expiry := tok.Expiry
		if expiry.IsZero() {
			expiry = start.Add(defaultOAuthLifetime)
		}
		return Token{Value: tok.AccessToken, Expiry: expiry}, nil
	}
}

func oauthError(ctx context.Context, vendor string, err error, now time.Time) error {
	var rerr *oauth2.RetrieveError
	if !errors.As(err, &rerr) {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", vendor, ctx.Err())
		}
		return &relay.RetryError{Vendor: vendor, Reason: "token endpoint unreachable or answer unreadable"}
	}
	status := 0
	var h http.Header
	if rerr.Response != nil {
		status, h = rerr.Response.StatusCode, rerr.Response.Header
	}
	if status == http.StatusTooManyRequests || status >= 500 {
		return &relay.RetryError{Vendor: vendor, Status: status, Reason: "token endpoint: " + http.StatusText(status), After: RetryAfter(h, now)}
	}
	code := rerr.ErrorCode
	if code == "" {
		code = http.StatusText(status)
	}
	return fmt.Errorf("%s: token endpoint refused the client (%d %s): %w", vendor, status, Reason(code, ""), relay.ErrBadCredentials)
}
