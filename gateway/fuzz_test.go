package gateway

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mopush/mopush/internal/httpx"
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
	g := New(Config{}, nil, nil, nil, nil, nil)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/pushes", strings.NewReader(body))
		var req pushRequest
		err := httpx.DecodeJSON(r, g.cfg.MaxBodyBytes, &req)
		if err == nil {
			_, err = g.validatePush(&req)
		}
		if err != nil {
			var e *httpx.Error
			if !errors.As(err, &e) || e.Status >= 500 {
				t.Fatalf("untyped or server error for %q: %v", body, err)
			}
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
			var e *httpx.Error
			if !errors.As(err, &e) || e.Status >= 500 {
				t.Fatalf("untyped or server error for %q: %v", body, err)
			}
		}
	})
}
