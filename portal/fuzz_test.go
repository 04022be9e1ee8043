package portal

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// FuzzOpenSession: no cookie value makes openSession panic, and one it
// accepts is signed with the key, unexpired and names a user.
func FuzzOpenSession(f *testing.F) {
	key := []byte(testKey)
	now := time.Unix(1_800_000_000, 0)
	f.Add(session{UserID: "U1", Version: 3, Expires: now.Add(time.Hour)}.seal(key))
	f.Add(session{UserID: "U1", Version: 3, Expires: now.Add(-time.Hour)}.seal(key))
	f.Add("")
	f.Add(".")
	f.Add("VTF8M3w.")
	f.Add(strings.Repeat("A", 600))
	f.Fuzz(func(t *testing.T, v string) {
		s, err := openSession(key, v, now)
		if err != nil {
			return
		}
		if s.UserID == "" || len(s.UserID) > ids.MaxLen || !now.Before(s.Expires) {
			t.Fatalf("accepted %q as %+v", v, s)
		}
		if _, err := openSession([]byte(strings.Repeat("k", 32)), v, now); err == nil {
			t.Fatalf("accepted %q under another key too", v)
		}
	})
}

// FuzzUserRequest: no body makes the user decoder or its checks panic, and
// every user they accept is within the bounds.
func FuzzUserRequest(f *testing.F) {
	f.Add([]byte(`{"email":"a@b.c","password":"0123456789","role":"viewer","apps":["x","x"]}`), true)
	f.Add([]byte(`{"name":"  n  ","disabled":true}`), false)
	f.Add([]byte(`{"email":"@","role":"admin"}`), true)
	f.Add([]byte(`{"apps":null,"email":null}`), false)
	f.Add([]byte(`{"password":"`+strings.Repeat("p", 80)+`"}`), false)
	f.Fuzz(func(t *testing.T, body []byte, create bool) {
		r := httptest.NewRequest("POST", "/portal/api/users", bytes.NewReader(body))
		var req userRequest
		if httpx.DecodeJSON(r, maxBody, &req) != nil || req.validate(create) != nil {
			return
		}
		if create && (req.Email == nil || req.Password == nil || req.Role == nil) {
			t.Fatal("a new user without email, password or role")
		}
		if req.Email != nil && (len(*req.Email) > maxEmail || !strings.Contains(*req.Email, "@")) {
			t.Fatalf("email %q", *req.Email)
		}
		if req.Password != nil && (len(*req.Password) < minPassword || len(*req.Password) > maxPassword) {
			t.Fatalf("password of %d bytes", len(*req.Password))
		}
		if req.Role != nil && *req.Role != store.RoleAdmin && *req.Role != store.RoleMarketer && *req.Role != store.RoleViewer {
			t.Fatalf("role %q", *req.Role)
		}
		if req.Apps != nil {
			seen := map[string]bool{}
			for _, a := range *req.Apps {
				if a == "" || len(a) > ids.MaxLen || seen[a] {
					t.Fatalf("apps %q", *req.Apps)
				}
				seen[a] = true
			}
		}
	})
}
