package portal

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

type signInRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// userView is a user as the API shows it: never its password hash.
type userView struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Apps      []string  `json:"apps"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewUser(u *store.User) userView {
	apps := u.Apps
	if apps == nil {
		apps = []string{}
	}
	return userView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Apps: apps,
		Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func (p *Portal) signIn(w http.ResponseWriter, r *http.Request) error {
	if !p.logins.allow(clientAddr(r), p.now()) {
		p.m.signIns.WithLabelValues("throttled").Inc()
		return errTooManyAttempts()
	}
	var req signInRequest
	if err := httpx.DecodeJSON(r, maxBody, &req); err != nil {
		return err
	}
	if req.Email == "" || len(req.Email) > maxEmail || req.Password == "" || len(req.Password) > maxPassword {
		p.m.signIns.WithLabelValues("refused").Inc()
		return errBadCredentials()
	}
	u, err := p.users.UserByEmail(r.Context(), req.Email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("sign in: %w", err)
	}
	var hash []byte
	if u != nil {
		hash = u.PasswordHash
	} else {
		// An unknown email takes as long as a wrong password.
		hash = p.dummyHash()
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(req.Password)) == nil
	if u == nil || !ok || u.Disabled {
		p.m.signIns.WithLabelValues("refused").Inc()
		return errBadCredentials()
	}
	p.m.signIns.WithLabelValues("ok").Inc()
	p.log.Info("signed in", "user_id", u.ID)
	p.setCookie(w, u)
	return httpx.WriteJSON(w, http.StatusOK, viewUser(u))
}

func (p *Portal) whoami(w http.ResponseWriter, r *http.Request) error {
	u, err := p.signedIn(r)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, viewUser(u))
}

func (p *Portal) signOut(w http.ResponseWriter, _ *http.Request) error {
	p.clearCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clientAddr is the address sign-in attempts are counted by: the peer's
// IP. Behind a proxy every attempt shares the proxy's address, which makes
// the bound stricter, never looser.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// maxLoginAddrs bounds the table of sign-in limiters; when it is full the
// table starts over, which forgets at most one interval's worth of limits.
const maxLoginAddrs = 10000

// loginLimits bounds sign-in attempts per address with a token bucket each.
type loginLimits struct {
	burst int
	every time.Duration
	mu    sync.Mutex
	by    map[string]*rate.Limiter
}

func newLoginLimits(burst int, every time.Duration) *loginLimits {
	return &loginLimits{burst: burst, every: every, by: make(map[string]*rate.Limiter)}
}

func (l *loginLimits) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.by[addr]
	if !ok {
		if len(l.by) >= maxLoginAddrs {
			clear(l.by)
		}
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.by[addr] = lim
	}
	return lim.AllowN(now, 1)
}

type passwordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// changePassword sets the signed-in user's password, given the current
// one, and starts a new session: the change ends every other one.
func (p *Portal) changePassword(w http.ResponseWriter, r *http.Request) error {
	u, err := p.signedIn(r)
	if err != nil {
		return err
	}
	var req passwordRequest
	if err := httpx.DecodeJSON(r, maxBody, &req); err != nil {
		return err
	}
	if len(req.Current) > maxPassword || bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(req.Current)) != nil {
		return errBadCredentials()
	}
	change := userRequest{Password: &req.New}
	if err := change.validate(false); err != nil {
		return err
	}
	if err := p.apply(&change, u); err != nil {
		return err
	}
	err = p.users.UpdateUser(r.Context(), u)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return errSignedOut() // changed or removed meanwhile: sign in again
	}
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	p.log.Info("password changed", "user_id", u.ID)
	p.setCookie(w, u)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
