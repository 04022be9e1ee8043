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

// FuzzCampaignRequest: no body makes the campaign decoder or its checks
// panic, and every campaign they accept is within the bounds.
func FuzzCampaignRequest(f *testing.F) {
	now := time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC)
	f.Add([]byte(`{"name":"x","notification":{"title":"t"},"tags":["a"],"send_at":"2026-12-24T09:00:00+05:00","local_time":true}`))
	f.Add([]byte(`{"name":"x","notification":{"body":"b"},"tags":["a","b"],"rate_per_second":100}`))
	f.Add([]byte(`{"name":"x","notification":{"body":"b"},"all_devices":true,"send_at":"2026-12-24T09:00:00Z","local_time":true}`))
	f.Add([]byte(`{"name":"x","notification":{"data":{"k":"v"}},"tags":[""],"send_at":"2026-13-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/portal/api/apps/a1/campaigns", bytes.NewReader(body))
		var req campaignRequest
		if httpx.DecodeJSON(r, maxBody, &req) != nil {
			return
		}
		at, err := req.validate(now)
		if err != nil {
			return
		}
		if req.Name == "" || len(req.Name) > maxCampaignName || req.AllDevices == (len(req.Tags) > 0) || len(req.Tags) > maxCampaignTags {
			t.Fatalf("accepted %+v", req)
		}
		for _, tag := range req.Tags {
			if tag == "" || len(tag) > maxTagBytes {
				t.Fatalf("tag %q", tag)
			}
		}
		if req.RatePerSecond < 0 || req.RatePerSecond > maxCampaignRate || (req.LocalTime && (req.RatePerSecond > 0 || at.IsZero())) {
			t.Fatalf("accepted %+v", req)
		}
		if at.Sub(now) > maxCampaignAhead || (!at.IsZero() && at.Location() != time.UTC) {
			t.Fatalf("send time %v", at)
		}
	})
}
