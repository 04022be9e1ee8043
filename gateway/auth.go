package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

// authApp checks HTTP Basic app_key:master_secret and returns the app.
func (g *Gateway) authApp(r *http.Request) (*store.App, error) {
	key, secret, ok := r.BasicAuth()
	if !ok || key == "" || secret == "" {
		return nil, errUnauthorized()
	}
	app, err := g.apps.get(r.Context(), g.store, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnauthorized()
	}
	if err != nil {
		return nil, fmt.Errorf("load app: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], app.SecretHash) != 1 {
		return nil, errUnauthorized()
	}
	return app, nil
}

// authAdmin checks the admin Bearer token.
func (g *Gateway) authAdmin(r *http.Request) error {
	tok, ok := httpx.BearerToken(r)
	if !ok || g.cfg.AdminToken == "" ||
		subtle.ConstantTimeCompare([]byte(tok), []byte(g.cfg.AdminToken)) != 1 {
		return errAdminUnauthorized()
	}
	return nil
}
