package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// authApp checks HTTP Basic app_key:master_secret and returns the app. An
// operator's tool (the portal, the CLI) may instead send the admin Bearer
// token and name the app by its id in httpx.AppHeader: it then acts as that
// app.
func (g *Gateway) authApp(r *http.Request) (*store.App, error) {
	if appID := r.Header.Get(httpx.AppHeader); appID != "" {
		return g.authAdminFor(r, appID)
	}
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

// authAdminFor checks the admin Bearer token and returns the app with the
// id. An unknown app is 404, as an unknown push is: the caller is trusted.
func (g *Gateway) authAdminFor(r *http.Request, appID string) (*store.App, error) {
	if err := g.authAdmin(r); err != nil {
		return nil, err
	}
	if len(appID) > ids.MaxLen {
		return nil, errNotFound("app")
	}
	app, err := g.store.AppByID(r.Context(), appID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound("app")
	}
	if err != nil {
		return nil, fmt.Errorf("load app: %w", err)
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
