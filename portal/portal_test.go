package portal

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

const testKey = "0123456789abcdef0123456789abcdef"

// upstream is a stand-in for the gateway that records what it was asked.
type upstream struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.reqs = append(u.reqs, r)
	u.body = append(u.body, string(b))
	u.mu.Unlock()
	switch {
	case r.URL.Path == "/v1/apps/gone":
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"type":"https://mopush.dev/problems/not-found","title":"Not found","status":404}`)
	case strings.HasPrefix(r.URL.Path, "/v1/apps/"):
		io.WriteString(w, `{"app_id":"`+strings.TrimPrefix(r.URL.Path, "/v1/apps/")+`","name":"n","app_key":"k"}`)
	case r.URL.Path == "/v1/apps":
		io.WriteString(w, `{"apps":[{"app_id":"a1","name":"one","app_key":"k1"}]}`)
	case r.Method == http.MethodPost:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"push_id":"P1"}`)
	default:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pushes":[]}`)
	}
}

func (u *upstream) last() (*http.Request, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reqs[len(u.reqs)-1], u.body[len(u.body)-1]
}

type harness struct {
	t     *testing.T
	p     *Portal
	mux   *http.ServeMux
	users *pebblestore.Store
	up    *upstream
	clock time.Time
}

func newHarness(t *testing.T) *harness {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	up := &upstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	p, err := New(Config{SessionKey: testKey, GatewayURL: srv.URL, BcryptCost: bcrypt.MinCost, LoginBurst: 3}, st, "admin-token", nil, nil)
	require.NoError(t, err)
	h := &harness{t: t, p: p, mux: http.NewServeMux(), users: st, up: up, clock: time.Now()}
	p.now = func() time.Time { return h.clock }
	p.Register(h.mux)
	return h
}

// addUser stores a user whose password is "password-" + role.
func (h *harness) addUser(email, role string, apps ...string) *store.User {
	hash, err := bcrypt.GenerateFromPassword([]byte("password-"+role), bcrypt.MinCost)
	require.NoError(h.t, err)
	u := &store.User{ID: "u-" + email, Email: email, PasswordHash: hash, Role: role, Apps: apps, CreatedAt: time.Now()}
	require.NoError(h.t, h.users.CreateUser(h.t.Context(), u))
	return u
}

// do serves a request with the cookie (if any) and the portal header.
func (h *harness) do(method, path, body string, cookie *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.1:1234"
	r.Header.Set(csrfHeader, "1")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.mux.ServeHTTP(w, r)
	return w
}

func (h *harness) signIn(email, password string) (*http.Cookie, *httptest.ResponseRecorder) {
	w := h.do(http.MethodPost, "/portal/api/session", `{"email":"`+email+`","password":"`+password+`"}`, nil)
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName {
			return c, w
		}
	}
	return nil, w
}

func requireProblem(t *testing.T, w *httptest.ResponseRecorder, status int, slug string) {
	t.Helper()
	require.Equal(t, status, w.Code, w.Body.String())
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	var p struct{ Type string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	require.Equal(t, "https://mopush.dev/problems/"+slug, p.Type)
}

func TestSignInAndSessions(t *testing.T) {
	h := newHarness(t)
	u := h.addUser("mia@example.com", store.RoleMarketer, "a1")

	c, w := h.signIn("MIA@example.com", "password-marketer")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.NotNil(t, c)
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.Equal(t, "/portal/", c.Path)
	require.NotContains(t, w.Body.String(), "password")

	w = h.do(http.MethodGet, "/portal/api/session", "", c)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `"role":"marketer"`)
	requireProblem(t, h.do(http.MethodGet, "/portal/api/session", "", nil), http.StatusUnauthorized, "unauthorized")

	// A tampered cookie, another key's cookie and an expired one are out.
	bad := *c
	bad.Value = strings.Replace(c.Value, ".", "x.", 1)
	requireProblem(t, h.do(http.MethodGet, "/portal/api/session", "", &bad), http.StatusUnauthorized, "unauthorized")
	other := session{UserID: u.ID, Version: 1, Expires: h.clock.Add(time.Hour)}.seal([]byte(strings.Repeat("x", 32)))
	requireProblem(t, h.do(http.MethodGet, "/portal/api/session", "", &http.Cookie{Name: cookieName, Value: other}), http.StatusUnauthorized, "unauthorized")
	h.clock = h.clock.Add(13 * time.Hour)
	requireProblem(t, h.do(http.MethodGet, "/portal/api/session", "", c), http.StatusUnauthorized, "unauthorized")

	// A change to the user (here its password) ends its sessions.
	c, _ = h.signIn("mia@example.com", "password-marketer")
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/portal/api/session", "", c).Code)
	r := httptest.NewRequest(http.MethodPatch, "/portal/api/users/"+u.ID, strings.NewReader(`{"password":"another-password"}`))
	r.Header.Set("Authorization", "Bearer admin-token")
	wr := httptest.NewRecorder()
	h.mux.ServeHTTP(wr, r)
	require.Equal(t, http.StatusOK, wr.Code, wr.Body.String())
	requireProblem(t, h.do(http.MethodGet, "/portal/api/session", "", c), http.StatusUnauthorized, "unauthorized")
	_, w = h.signIn("mia@example.com", "password-marketer")
	requireProblem(t, w, http.StatusUnauthorized, "invalid-credentials")
	c, w = h.signIn("mia@example.com", "another-password")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())

	// Signing out clears the cookie.
	w = h.do(http.MethodDelete, "/portal/api/session", "", c)
	require.Equal(t, http.StatusNoContent, w.Code)
	require.Equal(t, -1, w.Result().Cookies()[0].MaxAge)
}

func TestSignInRefusals(t *testing.T) {
	h := newHarness(t)
	u := h.addUser("vic@example.com", store.RoleViewer)
	_, w := h.signIn("nobody@example.com", "password-viewer")
	requireProblem(t, w, http.StatusUnauthorized, "invalid-credentials")
	_, w = h.signIn("vic@example.com", "wrong-password")
	requireProblem(t, w, http.StatusUnauthorized, "invalid-credentials")
	u.Disabled = true
	require.NoError(t, h.users.UpdateUser(t.Context(), u))
	_, w = h.signIn("vic@example.com", "password-viewer")
	requireProblem(t, w, http.StatusUnauthorized, "invalid-credentials")

	// Three attempts from one address were allowed (LoginBurst); the
	// fourth waits, and one interval later one more is allowed.
	_, w = h.signIn("vic@example.com", "password-viewer")
	requireProblem(t, w, http.StatusTooManyRequests, "too-many-attempts")
	require.NotEmpty(t, w.Header().Get("Retry-After"))
	h.clock = h.clock.Add(6 * time.Second)
	_, w = h.signIn("vic@example.com", "password-viewer")
	requireProblem(t, w, http.StatusUnauthorized, "invalid-credentials")
}

func TestChangesNeedThePortalHeader(t *testing.T) {
	h := newHarness(t)
	h.addUser("mia@example.com", store.RoleMarketer, "a1")
	c, _ := h.signIn("mia@example.com", "password-marketer")
	r := httptest.NewRequest(http.MethodPost, "/portal/api/apps/a1/pushes", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	r.AddCookie(c)
	w := httptest.NewRecorder()
	h.mux.ServeHTTP(w, r)
	requireProblem(t, w, http.StatusForbidden, "missing-portal-header")
	require.Empty(t, h.up.reqs, "nothing reached the gateway")
}

// The portal passes a permitted request on to the gateway, acting for the
// app with the admin token, without the browser's cookie; a request for an
// app the user may not touch never leaves the portal.
func TestPushesGoToTheGatewayForTheApp(t *testing.T) {
	h := newHarness(t)
	h.addUser("mia@example.com", store.RoleMarketer, "a1")
	h.addUser("vic@example.com", store.RoleViewer, "a1")
	mia, _ := h.signIn("mia@example.com", "password-marketer")
	vic, _ := h.signIn("vic@example.com", "password-viewer")

	w := h.do(http.MethodPost, "/portal/api/apps/a1/pushes", `{"audience":{"broadcast":true}}`, mia)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	require.JSONEq(t, `{"push_id":"P1"}`, w.Body.String())
	r, body := h.up.last()
	require.Equal(t, "/v1/pushes", r.URL.Path)
	require.Equal(t, "Bearer admin-token", r.Header.Get("Authorization"))
	require.Equal(t, "a1", r.Header.Get(httpx.AppHeader))
	require.Empty(t, r.Header.Get("Cookie"))
	require.Equal(t, `{"audience":{"broadcast":true}}`, body)

	w = h.do(http.MethodDelete, "/portal/api/apps/a1/pushes/P9", "", mia)
	r, _ = h.up.last()
	require.Equal(t, http.MethodDelete, r.Method)
	require.Equal(t, "/v1/pushes/P9", r.URL.Path)

	w = h.do(http.MethodGet, "/portal/api/apps/a1/pushes?state=scheduled", "", vic)
	require.Equal(t, http.StatusOK, w.Code)
	r, _ = h.up.last()
	require.Equal(t, "state=scheduled", r.URL.RawQuery)

	sent := len(h.up.reqs)
	requireProblem(t, h.do(http.MethodPost, "/portal/api/apps/a1/pushes", `{}`, vic), http.StatusForbidden, "forbidden")
	requireProblem(t, h.do(http.MethodDelete, "/portal/api/apps/a1/pushes/P9", "", vic), http.StatusForbidden, "forbidden")
	requireProblem(t, h.do(http.MethodGet, "/portal/api/apps/a2/pushes", "", mia), http.StatusNotFound, "not-found")
	requireProblem(t, h.do(http.MethodGet, "/portal/api/apps/a1/pushes", "", nil), http.StatusUnauthorized, "unauthorized")
	require.Len(t, h.up.reqs, sent, "refused requests never reach the gateway")
}

func TestGatewayDown(t *testing.T) {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	defer st.Close()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	p, err := New(Config{SessionKey: testKey, GatewayURL: url, BcryptCost: bcrypt.MinCost}, st, "admin-token", nil, nil)
	require.NoError(t, err)
	h := &harness{t: t, p: p, mux: http.NewServeMux(), users: st}
	p.Register(h.mux)
	h.addUser("root@example.com", store.RoleAdmin)
	c, _ := h.signIn("root@example.com", "password-admin")
	requireProblem(t, h.do(http.MethodGet, "/portal/api/apps/a1/pushes", "", c), http.StatusBadGateway, "gateway-unavailable")
	requireProblem(t, h.do(http.MethodGet, "/portal/api/apps", "", c), http.StatusBadGateway, "gateway-unavailable")
}

func TestListApps(t *testing.T) {
	h := newHarness(t)
	h.addUser("root@example.com", store.RoleAdmin)
	h.addUser("mia@example.com", store.RoleMarketer, "a1", "gone")
	root, _ := h.signIn("root@example.com", "password-admin")
	mia, _ := h.signIn("mia@example.com", "password-marketer")

	w := h.do(http.MethodGet, "/portal/api/apps", "", root)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), `"app_id":"a1"`)
	r, _ := h.up.last()
	require.Equal(t, "/v1/apps", r.URL.Path, "an admin sees every app")

	w = h.do(http.MethodGet, "/portal/api/apps", "", mia)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var list appList
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &list))
	require.Len(t, list.Apps, 1, "her app, without the one that is gone")
	require.Equal(t, "a1", list.Apps[0].AppID)
	requireProblem(t, h.do(http.MethodPost, "/portal/api/apps", `{"name":"x"}`, mia), http.StatusForbidden, "forbidden")
}

func TestManageUsers(t *testing.T) {
	h := newHarness(t)
	h.addUser("root@example.com", store.RoleAdmin)
	h.addUser("mia@example.com", store.RoleMarketer, "a1")
	root, _ := h.signIn("root@example.com", "password-admin")
	mia, _ := h.signIn("mia@example.com", "password-marketer")

	w := h.do(http.MethodPost, "/portal/api/users", `{"email":"New@Example.com","password":"long-enough","role":"viewer","apps":["b","a","b"]}`, root)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var nu userView
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &nu))
	require.Equal(t, "new@example.com", nu.Email)
	require.Equal(t, []string{"a", "b"}, nu.Apps)
	requireProblem(t, h.do(http.MethodPost, "/portal/api/users", `{"email":"new@example.com","password":"long-enough","role":"viewer"}`, root),
		http.StatusConflict, "email-taken")
	requireProblem(t, h.do(http.MethodPost, "/portal/api/users", `{"email":"x@example.com","password":"long-enough","role":"viewer"}`, mia),
		http.StatusForbidden, "forbidden")

	for _, body := range []string{
		`{"email":"x@example.com","password":"short","role":"viewer"}`,
		`{"email":"no-at","password":"long-enough","role":"viewer"}`,
		`{"email":"x@example.com","password":"long-enough","role":"owner"}`,
		`{"email":"x@example.com","role":"viewer"}`,
		`{"email":"x@example.com","password":"long-enough","role":"viewer","apps":[""]}`,
	} {
		requireProblem(t, h.do(http.MethodPost, "/portal/api/users", body, root), http.StatusUnprocessableEntity, "invalid-user")
	}
	requireProblem(t, h.do(http.MethodPost, "/portal/api/users", `{"email":1}`, root), http.StatusBadRequest, "bad-json")

	w = h.do(http.MethodPatch, "/portal/api/users/"+nu.ID, `{"role":"marketer","disabled":true}`, root)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got, err := h.users.User(t.Context(), nu.ID)
	require.NoError(t, err)
	require.Equal(t, store.RoleMarketer, got.Role)
	require.True(t, got.Disabled)
	requireProblem(t, h.do(http.MethodPatch, "/portal/api/users/"+nu.ID, `{"email":"mia@example.com"}`, root), http.StatusConflict, "email-taken")
	requireProblem(t, h.do(http.MethodPatch, "/portal/api/users/nobody", `{"name":"x"}`, root), http.StatusNotFound, "not-found")

	// Pages of two, each user once.
	var seen []string
	after := ""
	for range 5 {
		w = h.do(http.MethodGet, "/portal/api/users?limit=2&after="+after, "", root)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var page userPage
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
		for _, u := range page.Users {
			seen = append(seen, u.Email)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	require.ElementsMatch(t, []string{"root@example.com", "mia@example.com", "new@example.com"}, seen)

	require.Equal(t, http.StatusNoContent, h.do(http.MethodDelete, "/portal/api/users/"+nu.ID, "", root).Code)
	_, err = h.users.User(t.Context(), nu.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	// The operator's admin token manages users without a session; another
	// token does not.
	r := httptest.NewRequest(http.MethodGet, "/portal/api/users", nil)
	r.Header.Set("Authorization", "Bearer wrong")
	wr := httptest.NewRecorder()
	h.mux.ServeHTTP(wr, r)
	requireProblem(t, wr, http.StatusUnauthorized, "unauthorized")
}

func TestSessionKeyTooShort(t *testing.T) {
	_, err := New(Config{SessionKey: "short", GatewayURL: "http://127.0.0.1:1"}, nil, "", nil, nil)
	require.ErrorIs(t, err, errShortKey)
	_, err = New(Config{SessionKey: testKey, GatewayURL: "ftp://x"}, nil, "", nil, nil)
	require.Error(t, err)
}

func TestUIServed(t *testing.T) {
	h := newHarness(t)
	w := h.do(http.MethodGet, "/portal/", "", nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `<script src="app.js"`)
	require.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'self'")
	w = h.do(http.MethodGet, "/portal/app.js", "", nil)
	require.Equal(t, http.StatusOK, w.Code)
	requireProblem(t, h.do(http.MethodGet, "/portal/api/nothing", "", nil), http.StatusNotFound, "not-found")
}

func TestChangeOwnPassword(t *testing.T) {
	h := newHarness(t)
	h.addUser("mia@example.com", store.RoleMarketer, "a1")
	c, _ := h.signIn("mia@example.com", "password-marketer")
	path := "/portal/api/session/password"
	requireProblem(t, h.do(http.MethodPut, path, `{"current":"wrong","new":"a-new-password"}`, c), http.StatusUnauthorized, "invalid-credentials")
	requireProblem(t, h.do(http.MethodPut, path, `{"current":"password-marketer","new":"short"}`, c), http.StatusUnprocessableEntity, "invalid-user")
	requireProblem(t, h.do(http.MethodPut, path, `{"current":"password-marketer","new":"a-new-password"}`, nil), http.StatusUnauthorized, "unauthorized")

	w := h.do(http.MethodPut, path, `{"current":"password-marketer","new":"a-new-password"}`, c)
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	fresh := w.Result().Cookies()[0]
	require.Equal(t, cookieName, fresh.Name)
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/portal/api/session", "", fresh).Code, "the new session works")
	requireProblem(t, h.do(http.MethodGet, "/portal/api/session", "", c), http.StatusUnauthorized, "unauthorized")
	_, w = h.signIn("mia@example.com", "password-marketer")
	requireProblem(t, w, http.StatusUnauthorized, "invalid-credentials")
	_, w = h.signIn("mia@example.com", "a-new-password")
	require.Equal(t, http.StatusOK, w.Code)
}

// No change leaves the portal without an admin who can sign in.
func TestLastAdminStays(t *testing.T) {
	h := newHarness(t)
	root := h.addUser("root@example.com", store.RoleAdmin)
	c, _ := h.signIn("root@example.com", "password-admin")
	for _, body := range []string{`{"role":"marketer"}`, `{"disabled":true}`} {
		requireProblem(t, h.do(http.MethodPatch, "/portal/api/users/"+root.ID, body, c), http.StatusConflict, "last-admin")
	}
	requireProblem(t, h.do(http.MethodDelete, "/portal/api/users/"+root.ID, "", c), http.StatusConflict, "last-admin")
	got, err := h.users.User(t.Context(), root.ID)
	require.NoError(t, err)
	require.True(t, activeAdmin(got), "unchanged")

	// A disabled second admin does not count; an active one does.
	other := h.addUser("ops@example.com", store.RoleAdmin)
	other.Disabled = true
	require.NoError(t, h.users.UpdateUser(t.Context(), other))
	requireProblem(t, h.do(http.MethodDelete, "/portal/api/users/"+root.ID, "", c), http.StatusConflict, "last-admin")
	w := h.do(http.MethodPatch, "/portal/api/users/"+other.ID, `{"disabled":false}`, c)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = h.do(http.MethodPatch, "/portal/api/users/"+root.ID, `{"role":"viewer"}`, c)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
}
