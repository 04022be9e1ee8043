package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

// appView is an app as the gateway shows it, and as the portal lists it.
type appView struct {
	AppID        string    `json:"app_id"`
	Name         string    `json:"name"`
	AppKey       string    `json:"app_key"`
	MasterSecret string    `json:"master_secret,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

type appList struct {
	Apps []appView `json:"apps"`
	Next string    `json:"next,omitempty"`
}

// listApps lists the apps the signed-in user may see: every app for an
// admin (in pages, from the gateway), else the user's own.
func (p *Portal) listApps(w http.ResponseWriter, r *http.Request) error {
	u, err := p.signedIn(r)
	if err != nil {
		return err
	}
	if u.Role == store.RoleAdmin {
		var page appList
		q := url.Values{"limit": {"100"}}
		if after := r.URL.Query().Get("after"); after != "" {
			q.Set("after", after)
		}
		if err := p.gw.call(r.Context(), http.MethodGet, "/v1/apps?"+q.Encode(), "", nil, &page); err != nil {
			return err
		}
		return httpx.WriteJSON(w, http.StatusOK, page)
	}
	out := appList{Apps: []appView{}}
	for _, id := range u.Apps {
		var a appView
		err := p.gw.call(r.Context(), http.MethodGet, "/v1/apps/"+url.PathEscape(id), "", nil, &a)
		var he *httpx.Error
		if errors.As(err, &he) && he.Status == http.StatusNotFound {
			continue // deleted, or never existed: nothing to show
		}
		if err != nil {
			return err
		}
		a.MasterSecret = ""
		out.Apps = append(out.Apps, a)
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

// createApp creates an app through the gateway (admins only). The answer
// carries the app's master secret, shown this once.
func (p *Portal) createApp(w http.ResponseWriter, r *http.Request) error {
	u, err := p.signedIn(r)
	if err != nil {
		return err
	}
	if u.Role != store.RoleAdmin {
		return errForbidden("only admins create apps")
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := httpx.DecodeJSON(r, maxBody, &req); err != nil {
		return err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode app: %w", err)
	}
	var a appView
	if err := p.gw.call(r.Context(), http.MethodPost, "/v1/apps", "", body, &a); err != nil {
		return err
	}
	p.log.Info("app created", "app_id", a.AppID, "user_id", u.ID)
	return httpx.WriteJSON(w, http.StatusCreated, a)
}
