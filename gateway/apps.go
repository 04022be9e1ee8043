package gateway

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

type appRequest struct {
	Name string `json:"name"`
}

type appResponse struct {
	AppID        string        `json:"app_id"`
	Name         string        `json:"name"`
	AppKey       string        `json:"app_key"`
	MasterSecret string        `json:"master_secret,omitempty"` // only when created
	CreatedAt    time.Time     `json:"created_at"`
	Settings     *settingsView `json:"settings,omitempty"`
}

func (g *Gateway) createApp(w http.ResponseWriter, r *http.Request) error {
	if err := g.authAdmin(r); err != nil {
		return err
	}
	var req appRequest
	if err := httpx.DecodeJSON(r, g.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := validateApp(&req); err != nil {
		return err
	}
	secret := ids.Token(32)
	sum := sha256.Sum256([]byte(secret))
	app := &store.App{ID: ids.New(), Name: req.Name, Key: ids.Token(16), SecretHash: sum[:], CreatedAt: time.Now().UTC()}
	if err := g.store.CreateApp(r.Context(), app); err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, appResponse{
		AppID: app.ID, Name: app.Name, AppKey: app.Key, MasterSecret: secret, CreatedAt: app.CreatedAt,
	})
}

// maxAppName bounds an app's name, in bytes.
const maxAppName = 128

// validateApp trims the name of an app to create and checks it.
func validateApp(req *appRequest) error {
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > maxAppName {
		return errInvalid("invalid-app", "Invalid app", "name is required, at most 128 bytes")
	}
	return nil
}

func (g *Gateway) getApp(w http.ResponseWriter, r *http.Request) error {
	if err := g.authAdmin(r); err != nil {
		return err
	}
	app, err := g.store.AppByID(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("app")
	}
	if err != nil {
		return fmt.Errorf("load app: %w", err)
	}
	v := g.viewSettings(app.Settings)
	return httpx.WriteJSON(w, http.StatusOK, appResponse{AppID: app.ID, Name: app.Name, AppKey: app.Key, CreatedAt: app.CreatedAt, Settings: &v})
}

// appList is a page of apps and the after cursor of the next one.
type appList struct {
	Apps []appResponse `json:"apps"`
	Next string        `json:"next,omitempty"`
}

// Bounds of GET /v1/apps.
const (
	defaultListedApps = 20
	maxListedApps     = 100
)

// listApps lists every app, oldest first, in pages: ?after=<app id>&limit=20.
func (g *Gateway) listApps(w http.ResponseWriter, r *http.Request) error {
	if err := g.authAdmin(r); err != nil {
		return err
	}
	after, limit, err := httpx.PageQuery(r, defaultListedApps, maxListedApps, ids.MaxLen)
	if err != nil {
		return err
	}
	apps, err := g.store.ListApps(r.Context(), after, limit+1)
	if err != nil {
		return fmt.Errorf("list apps: %w", err)
	}
	apps, next := httpx.Page(apps, limit, func(a *store.App) string { return a.ID })
	out := appList{Apps: make([]appResponse, 0, len(apps)), Next: next}
	for _, a := range apps {
		out.Apps = append(out.Apps, appResponse{AppID: a.ID, Name: a.Name, AppKey: a.Key, CreatedAt: a.CreatedAt})
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}
