package gateway

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// FuzzPushRequest feeds arbitrary bodies to the push request decoder and
// validation: they must never panic, and every refusal must be a typed API
// error (never a 500).
func FuzzPushRequest(f *testing.F) {
	f.Add(`{"audience":{"device_ids":["a"]},"notification":{"title":"t","body":"b"}}`)
	f.Add(`{"audience":{"aliases":["u"]},"notification":{"data":{"k":"v"}},"options":{"ttl_seconds":60}}`)
	f.Add(`{"audience":`)
	f.Add(`{"notification":{"title":1}}`)
	f.Add(`{"x":1}`)
	f.Add(`[]`)
	f.Add(`{"options":{"ttl_seconds":-9223372036854775808},"notification":{"title":"t"}}`)
	f.Add(`{"audience":{"device_ids":["a"]},"notification":{"title":"t"},"options":{"send_at":"2030-01-02T15:04:05Z"}}`)
	f.Add(`{"notification":{"title":"t"},"options":{"send_at":"2030-01-02T15:04:05.999999999+14:00"}}`)
	f.Add(`{"notification":{"title":"t"},"options":{"send_at":"9999-99-99T99:99:99Z"}}`)
	f.Add(`{"notification":{"title":"t"},"options":{"send_at":null}}`)
	g := New(Config{}, nil, nil, nil, nil, nil)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/pushes", strings.NewReader(body))
		var req pushRequest
		err := httpx.DecodeJSON(r, g.cfg.MaxBodyBytes, &req)
		if err == nil {
			var at time.Time
			_, at, err = g.validatePush(&req, now)
			if err == nil && !at.IsZero() && (!at.After(now) || at.Sub(now) > g.cfg.MaxScheduleAhead) {
				t.Fatalf("%q: send time %v accepted outside (now, now+%v]", body, at, g.cfg.MaxScheduleAhead)
			}
		}
		if err != nil {
			requireTyped(t, body, err)
		}
	})
}

// FuzzEngagementRequest does the same for an open or click reported over
// HTTP: an accepted report names open or click and a push id of 1 to 64
// bytes.
func FuzzEngagementRequest(f *testing.F) {
	f.Add(`{"kind":"open","push_id":"06GZY95TCWHWDJKEYAE2Q4ZKYC"}`)
	f.Add(`{"kind":"click","push_id":""}`)
	f.Add(`{"kind":"view","push_id":"p"}`)
	f.Add(`{"kind":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/devices/d/engagements", strings.NewReader(body))
		var req engagementRequest
		err := httpx.DecodeJSON(r, 256<<10, &req)
		if err == nil {
			err = req.check()
			if err == nil && (req.Kind != store.EngagementOpen && req.Kind != store.EngagementClick ||
				req.PushID == "" || len(req.PushID) > ids.MaxLen) {
				t.Fatalf("accepted %q", body)
			}
		}
		if err != nil {
			requireTyped(t, body, err)
		}
	})
}

// FuzzDeviceRequest does the same for device registration.
func FuzzDeviceRequest(f *testing.F) {
	f.Add(`{"app_key":"k","platform":"ios","alias":"u","tags":["a"],"tokens":{"apns":"t"}}`)
	f.Add(`{"app_key":"k","tags":[""]}`)
	f.Add(`{"tokens":{"":""}}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/devices", strings.NewReader(body))
		var req deviceRequest
		err := httpx.DecodeJSON(r, 256<<10, &req)
		if err == nil {
			err = validateDevice(&req)
		}
		if err != nil {
			requireTyped(t, body, err)
		}
	})
}

// FuzzDeviceUpdate feeds arbitrary bodies to the decoder and check of a
// registration update: a refusal is a typed API error, and an accepted
// update leaves a device within registration's limits.
func FuzzDeviceUpdate(f *testing.F) {
	f.Add(`{"alias":"bob","tags":["a"],"tokens":{"fcm":"t","hms":""}}`)
	f.Add(`{"alias":null,"tags":[]}`)
	f.Add(`{"tokens":{"":"t"}}`)
	f.Add(`{"locale":"de-DE","time_zone":"Europe/Berlin"}`)
	f.Add(`{"platform":"ios"}`)
	before := &store.Device{ID: "d", AppID: "a", Alias: "alice", Tags: []string{"x"}, Tokens: map[string]string{"fcm": "f"}}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPatch, "/v1/devices/d", strings.NewReader(body))
		var u deviceUpdate
		err := httpx.DecodeJSON(r, 256<<10, &u)
		if err == nil {
			err = u.check()
		}
		if err != nil {
			requireTyped(t, body, err)
			return
		}
		d, _ := u.applyTo(before)
		after := deviceRequest{Alias: d.Alias, Tags: d.Tags, Tokens: d.Tokens, Locale: d.Locale, TimeZone: d.TimeZone}
		if err := validateDevice(&after); err != nil {
			t.Fatalf("update %q gave a device registration would refuse: %v", body, err)
		}
		for v, tok := range d.Tokens {
			if v == "" || tok == "" {
				t.Fatalf("update %q left token %q for vendor %q", body, tok, v)
			}
		}
		if before.Alias != "alice" || len(before.Tags) != 1 || before.Tokens["fcm"] != "f" || len(before.Tokens) != 1 {
			t.Fatalf("update %q changed the device it was applied to", body)
		}
	})
}

// requireTyped fails unless err is a typed API error below 500.
func requireTyped(t *testing.T, body string, err error) {
	t.Helper()
	var e *httpx.Error
	if !errors.As(err, &e) || e.Status >= 500 {
		t.Fatalf("untyped or server error for %q: %v", body, err)
	}
}

// FuzzAppRequest feeds arbitrary bodies to the decoder and check of an app
// to create: a refusal is a typed API error, and an accepted name is
// trimmed, not empty and within its bound.
func FuzzAppRequest(f *testing.F) {
	f.Add(`{"name":"demo"}`)
	f.Add(`{"name":"  "}`)
	f.Add(`{"name":"\u00e9\ud800"}`)
	f.Add(`{"name":1}`)
	f.Add(`{"name":"a","other":2}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/apps", strings.NewReader(body))
		var req appRequest
		err := httpx.DecodeJSON(r, 1<<20, &req)
		if err == nil {
			err = validateApp(&req)
		}
		if err != nil {
			requireTyped(t, body, err)
			return
		}
		if req.Name == "" || len(req.Name) > maxAppName || strings.TrimSpace(req.Name) != req.Name {
			t.Fatalf("accepted name %q from %q", req.Name, body)
		}
	})
}

// FuzzSettingsRequest does the same for an app's settings: what is
// accepted is an ack timeout of 1 s to 1 h (or none) and a known payload
// mode (or none).
func FuzzSettingsRequest(f *testing.F) {
	f.Add(`{"ack_timeout_seconds":10,"payload_mode":"wakeup"}`)
	f.Add(`{"ack_timeout_seconds":0}`)
	f.Add(`{"ack_timeout_seconds":9223372036854775807}`)
	f.Add(`{"ack_timeout_seconds":1.5}`)
	f.Add(`{"payload_mode":"FULL"}`)
	f.Add(`{"push_rate_per_second":500}`)
	f.Add(`{"push_rate_per_second":-1}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPut, "/v1/apps/a/settings", strings.NewReader(body))
		var req settingsRequest
		err := httpx.DecodeJSON(r, 1<<20, &req)
		var s store.Settings
		if err == nil {
			s, err = req.settings()
		}
		if err != nil {
			requireTyped(t, body, err)
			return
		}
		if s.AckTimeout != 0 && (s.AckTimeout < time.Second || s.AckTimeout > time.Hour) {
			t.Fatalf("accepted ack timeout %v from %q", s.AckTimeout, body)
		}
		switch s.PayloadMode {
		case "", store.PayloadFull, store.PayloadEncrypted, store.PayloadWakeup:
		default:
			t.Fatalf("accepted payload mode %q from %q", s.PayloadMode, body)
		}
		if s.PushRate < 0 || s.PushRate > maxPushRate {
			t.Fatalf("accepted push rate %d from %q", s.PushRate, body)
		}
	})
}
