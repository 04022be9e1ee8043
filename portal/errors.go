package portal

import (
	"errors"
	"net/http"

	"github.com/mopush/mopush/internal/httpx"
)

// errShortKey is returned by New for a session key under 32 bytes.
var errShortKey = errors.New("portal: session key must be at least 32 bytes")

func errSignedOut() *httpx.Error {
	return httpx.Errorf(http.StatusUnauthorized, "unauthorized", "Unauthorized", "sign in first")
}

func errBadCredentials() *httpx.Error {
	return httpx.Errorf(http.StatusUnauthorized, "invalid-credentials", "Invalid credentials", "unknown email or wrong password")
}

func errForbidden(detail string) *httpx.Error {
	return httpx.Errorf(http.StatusForbidden, "forbidden", "Forbidden", detail)
}

func errNotFound(what string) *httpx.Error {
	return httpx.Errorf(http.StatusNotFound, "not-found", "Not found", what+" not found")
}

func errInvalidUser(detail string) *httpx.Error {
	return httpx.Errorf(http.StatusUnprocessableEntity, "invalid-user", "Invalid user", detail)
}

func errEmailTaken() *httpx.Error {
	return httpx.Errorf(http.StatusConflict, "email-taken", "Email taken", "another user has this email")
}

func errMissingHeader() *httpx.Error {
	return httpx.Errorf(http.StatusForbidden, "missing-portal-header",
		"Missing portal header", "requests that change something carry the header "+csrfHeader+": 1")
}

func errTooManyAttempts() *httpx.Error {
	e := httpx.Errorf(http.StatusTooManyRequests, "too-many-attempts", "Too many attempts", "too many sign-in attempts from this address; try again later")
	e.Header = http.Header{"Retry-After": {"10"}}
	return e
}

func errGatewayDown() *httpx.Error {
	e := httpx.Errorf(http.StatusBadGateway, "gateway-unavailable", "Gateway unavailable", "the push API could not be reached")
	e.Header = http.Header{"Retry-After": {"1"}}
	return e
}
