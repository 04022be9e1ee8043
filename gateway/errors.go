package gateway

import (
	"net/http"

	"github.com/mopush/mopush/internal/httpx"
)

// Typed API errors. Each has a stable slug: clients match on the problem
// type, never on the text.
var (
	errUnauthorized = func() *httpx.Error {
		e := httpx.Errorf(http.StatusUnauthorized, "unauthorized", "Unauthorized", "valid credentials are required")
		e.Header = http.Header{"WWW-Authenticate": {`Basic realm="mopush"`}}
		return e
	}
	errAdminUnauthorized = func() *httpx.Error {
		e := httpx.Errorf(http.StatusUnauthorized, "unauthorized", "Unauthorized", "a valid admin token is required")
		e.Header = http.Header{"WWW-Authenticate": {`Bearer realm="mopush-admin"`}}
		return e
	}
)

// errBadAppKey refuses a registration whose app_key is unknown.
func errBadAppKey() *httpx.Error {
	return httpx.Errorf(http.StatusUnauthorized, "unauthorized", "Unauthorized", "unknown app_key")
}

func errNotFound(what string) *httpx.Error {
	return httpx.Errorf(http.StatusNotFound, "not-found", "Not found", what+" not found")
}

func errInvalid(slug, title, detail string) *httpx.Error {
	return httpx.Errorf(http.StatusUnprocessableEntity, slug, title, detail)
}

func errUnavailable(detail string) *httpx.Error {
	e := httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "Service unavailable", detail)
	e.Header = http.Header{"Retry-After": {"1"}}
	return e
}
