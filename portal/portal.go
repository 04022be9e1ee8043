package portal

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// Users is the part of the data layer the portal uses: its users.
type Users interface {
	CreateUser(ctx context.Context, u *store.User) error
	User(ctx context.Context, id string) (*store.User, error)
	UserByEmail(ctx context.Context, email string) (*store.User, error)
	ListUsers(ctx context.Context, after string, limit int) ([]*store.User, error)
	UpdateUser(ctx context.Context, u *store.User) error
	DeleteUser(ctx context.Context, id string) error
}

var _ Users = store.Users(nil)

// csrfHeader must be on every request that changes something: a cross-site
// form cannot set it, and a cross-site script cannot send it without a
// CORS preflight that the portal never grants.
const csrfHeader = "Mopush-Portal"

// maxBody bounds a portal API request body.
const maxBody = 64 << 10

// Portal serves the portal's UI and API.
type Portal struct {
	cfg        Config
	key        []byte
	adminToken string
	users      Users
	gw         *gatewayClient
	log        *slog.Logger
	m          *metrics
	logins     *loginLimits
	now        func() time.Time
	// dummyHash is a hash of a random password, made at the first sign-in
	// with an unknown email.
	dummyHash func() []byte
	// campaigns and starter serve campaigns (WithCampaigns); nil: none.
	campaigns Campaigns
	starter   Starter
}

// New returns a portal. adminToken is the gateway's admin token, with
// which the portal calls the gateway and with which an operator's tool may
// manage users. log and reg may be nil.
func New(cfg Config, users Users, adminToken string, log *slog.Logger, reg prometheus.Registerer, opts ...Option) (*Portal, error) {
	cfg.setDefaults()
	if len(cfg.SessionKey) < 32 {
		return nil, errShortKey
	}
	base, err := url.Parse(strings.TrimRight(cfg.GatewayURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("portal: gateway url %q: want http(s)://host[:port]", cfg.GatewayURL)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Portal{
		cfg:        cfg,
		key:        []byte(cfg.SessionKey),
		adminToken: adminToken,
		users:      users,
		log:        log.With("component", "portal"),
		m:          newMetrics(reg),
		now:        time.Now,
	}
	p.dummyHash = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte(ids.Token(16)), cfg.BcryptCost)
		return h
	})
	p.gw = newGatewayClient(base, adminToken, p.log)
	p.logins = newLoginLimits(cfg.LoginBurst, cfg.LoginInterval)
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Register adds the portal's routes to mux.
func (p *Portal) Register(mux *http.ServeMux) {
	h := func(name string, f httpx.HandlerFunc) http.Handler {
		return httpx.Handle(p.log, func(slug string) { p.m.problems.WithLabelValues(slug).Inc() },
			func(w http.ResponseWriter, r *http.Request) error {
				p.m.requests.WithLabelValues(name).Inc()
				w.Header().Set("Cache-Control", "no-store")
				if r.Method != http.MethodGet && r.Header.Get("Authorization") == "" && r.Header.Get(csrfHeader) != "1" {
					return errMissingHeader()
				}
				return f(w, r)
			})
	}
	mux.Handle("GET /portal/", uiHandler())
	mux.Handle("GET /portal", http.RedirectHandler("/portal/", http.StatusMovedPermanently))
	mux.Handle("POST /portal/api/session", h("sign_in", p.signIn))
	mux.Handle("GET /portal/api/session", h("whoami", p.whoami))
	mux.Handle("DELETE /portal/api/session", h("sign_out", p.signOut))
	mux.Handle("PUT /portal/api/session/password", h("change_password", p.changePassword))
	mux.Handle("GET /portal/api/apps", h("list_apps", p.listApps))
	mux.Handle("POST /portal/api/apps", h("create_app", p.createApp))
	mux.Handle("GET /portal/api/apps/{app}/pushes", h("list_pushes", p.forApp(roleRead, "/v1/pushes")))
	mux.Handle("POST /portal/api/apps/{app}/pushes", h("create_push", p.forApp(roleWrite, "/v1/pushes")))
	mux.Handle("GET /portal/api/apps/{app}/pushes/{id}", h("get_push", p.forApp(roleRead, "/v1/pushes/{id}")))
	mux.Handle("DELETE /portal/api/apps/{app}/pushes/{id}", h("cancel_push", p.forApp(roleWrite, "/v1/pushes/{id}")))
	mux.Handle("GET /portal/api/apps/{app}/campaigns", h("list_campaigns", p.listCampaigns))
	mux.Handle("POST /portal/api/apps/{app}/campaigns", h("create_campaign", p.createCampaign))
	mux.Handle("GET /portal/api/apps/{app}/campaigns/{id}", h("get_campaign", p.getCampaign))
	mux.Handle("POST /portal/api/apps/{app}/campaigns/{id}/{action}", h("change_campaign", p.changeCampaign))
	mux.Handle("GET /portal/api/users", h("list_users", p.listUsers))
	mux.Handle("POST /portal/api/users", h("create_user", p.createUser))
	mux.Handle("PATCH /portal/api/users/{id}", h("update_user", p.updateUser))
	mux.Handle("DELETE /portal/api/users/{id}", h("delete_user", p.deleteUser))
}

// isOperator reports whether the request carries the admin token: an
// operator's tool (the CLI) managing users before anyone can sign in.
func (p *Portal) isOperator(r *http.Request) bool {
	tok, ok := httpx.BearerToken(r)
	return ok && p.adminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(p.adminToken)) == 1
}

// admin checks that the request comes from a signed-in admin or an
// operator's tool.
func (p *Portal) admin(r *http.Request) error {
	if p.isOperator(r) {
		return nil
	}
	u, err := p.signedIn(r)
	if err != nil {
		return err
	}
	if u.Role != store.RoleAdmin {
		return errForbidden("only admins manage this")
	}
	return nil
}

// access is what a user may do with an app.
type access int

const (
	roleRead  access = iota + 1 // see its pushes and their numbers
	roleWrite                   // also send and cancel pushes
)

// userFor returns the signed-in user when it may act with the given access
// on the app of the path. An app outside the user's list is not found, as
// if it did not exist; one the user may only read is forbidden to change.
func (p *Portal) userFor(r *http.Request, a access) (*store.User, error) {
	u, err := p.signedIn(r)
	if err != nil {
		return nil, err
	}
	app := r.PathValue("app")
	if !may(u, app, a) {
		if may(u, app, roleRead) {
			return nil, errForbidden("your role may only read this app")
		}
		return nil, errNotFound("app")
	}
	return u, nil
}

// may reports whether u may act on app with the given access.
func may(u *store.User, app string, a access) bool {
	if u.Role == store.RoleAdmin {
		return true
	}
	seen := false
	for _, id := range u.Apps {
		if id == app {
			seen = true
			break
		}
	}
	if !seen {
		return false
	}
	return a == roleRead || u.Role == store.RoleMarketer
}
