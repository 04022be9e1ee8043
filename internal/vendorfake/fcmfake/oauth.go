package fcmfake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/vendorfake"
)

const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// maxAssertionLife is Google's limit on exp - iat of a service-account
// assertion.
const maxAssertionLife = time.Hour

// serveToken is the token endpoint: a JWT bearer grant (RFC 7523) whose
// assertion is signed with a service-account key the fake issued.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, "invalid_request", "Could not parse the request body.")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != jwtBearerGrant {
		writeOAuthError(w, "unsupported_grant_type", "Invalid grant_type: "+g)
		return
	}
	if desc := s.checkAssertion(r.PostForm.Get("assertion")); desc != "" {
		writeOAuthError(w, "invalid_grant", desc)
		return
	}
	tok, ttl := s.issue(s.cfg.ProjectID)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck // the client went away
		"access_token": tok,
		"expires_in":   int(ttl / time.Second),
		"token_type":   "Bearer",
	})
}

// checkAssertion returns why an assertion is refused, or "".
func (s *Server) checkAssertion(assertion string) string {
	j, err := vendorfake.ParseJWT(assertion)
	if err != nil {
		return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe."
	}
	s.mu.Lock()
	key, ok := s.keys[j.HeaderString("kid")]
	s.mu.Unlock()
	if !ok || j.VerifyRS256(key.pub) != nil || j.ClaimString("iss") != key.email {
		return "Invalid JWT Signature."
	}
	if j.ClaimString("aud") != s.TokenURL() {
		return "Invalid JWT: audience does not match the token endpoint."
	}
	scopes := strings.Fields(j.ClaimString("scope"))
	if !slices.Contains(scopes, Scope) && !slices.Contains(scopes, "https://www.googleapis.com/auth/cloud-platform") {
		return "Invalid scope for FCM."
	}
	return s.checkLifetime(j)
}

func (s *Server) checkLifetime(j *vendorfake.JWT) string {
	iat, ok1 := j.ClaimInt("iat")
	exp, ok2 := j.ClaimInt("exp")
	now := s.cfg.Now().Unix()
	if !ok1 || !ok2 || exp <= now || iat > now+300 || exp-iat > int64(maxAssertionLife/time.Second) {
		return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
	}
	return ""
}

func writeOAuthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{ //nolint:errcheck // the client went away
		"error":             code,
		"error_description": desc,
	})
}
