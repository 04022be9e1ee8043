package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// cookieName is the session cookie.
const cookieName = "mopush_portal"

// maxCookie bounds a session cookie's value; ours are about 100 bytes.
const maxCookie = 512

// session is what a session cookie says: who signed in, for which version
// of the user record, and until when.
type session struct {
	UserID  string
	Version int64
	Expires time.Time
}

// seal encodes s and signs it with key: base64url(payload) "." base64url(mac).
func (s session) seal(key []byte) string {
	payload := s.UserID + "|" + strconv.FormatInt(s.Version, 10) + "|" + strconv.FormatInt(s.Expires.Unix(), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(mac(key, payload))
}

func mac(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(payload))
	return h.Sum(nil)
}

var errBadSession = errors.New("portal: bad session cookie")

// openSession checks a cookie value's signature and expiry and returns its
// session. It never panics on any input (FuzzOpenSession).
func openSession(key []byte, v string, now time.Time) (session, error) {
	if len(v) > maxCookie {
		return session{}, errBadSession
	}
	p64, m64, ok := strings.Cut(v, ".")
	if !ok {
		return session{}, errBadSession
	}
	payload, err := base64.RawURLEncoding.DecodeString(p64)
	if err != nil {
		return session{}, errBadSession
	}
	got, err := base64.RawURLEncoding.DecodeString(m64)
	if err != nil || !hmac.Equal(got, mac(key, string(payload))) {
		return session{}, errBadSession
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 3 || parts[0] == "" || len(parts[0]) > ids.MaxLen {
		return session{}, errBadSession
	}
	ver, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return session{}, errBadSession
	}
	s := session{UserID: parts[0], Version: ver, Expires: time.Unix(exp, 0)}
	if !now.Before(s.Expires) {
		return session{}, errBadSession
	}
	return s, nil
}

// setCookie starts a session of u.
func (p *Portal) setCookie(w http.ResponseWriter, u *store.User) {
	s := session{UserID: u.ID, Version: u.Version, Expires: p.now().Add(p.cfg.SessionTTL)}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: s.seal(p.key), Path: "/portal/",
		Expires: s.Expires, HttpOnly: true, Secure: p.cfg.SecureCookie, SameSite: http.SameSiteStrictMode,
	})
}

// clearCookie ends the browser's session.
func (p *Portal) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: "", Path: "/portal/", MaxAge: -1,
		HttpOnly: true, Secure: p.cfg.SecureCookie, SameSite: http.SameSiteStrictMode,
	})
}

// signedIn returns the user of the request's session cookie: an unsigned,
// expired or stale cookie (the user changed, was disabled or deleted since)
// is errSignedOut.
func (p *Portal) signedIn(r *http.Request) (*store.User, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, errSignedOut()
	}
	s, err := openSession(p.key, c.Value, p.now())
	if err != nil {
		return nil, errSignedOut()
	}
	u, err := p.users.User(r.Context(), s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errSignedOut()
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || u.Version != s.Version {
		return nil, errSignedOut()
	}
	return u, nil
}
