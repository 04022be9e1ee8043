package vendors_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/mopush/mopush/relay/vendors"
)

// FuzzBuild feeds arbitrary credentials, as an app owner uploads them, to
// every vendor's parser: none may panic, a refusal is always ErrInvalid
// (the API's 400), and an accepted credential yields a sender of that
// vendor.
func FuzzBuild(f *testing.F) {
	key := p8(f)
	seeds := map[string]map[string]any{
		"apns":    {"topic": "com.example.app", "auth_key": key, "key_id": "KEY1234567", "team_id": "TEAM123456"},
		"fcm":     {"service_account": `{"type":"service_account","project_id":"p","private_key":"` + key + `","client_email":"a@b"}`},
		"hms":     {"app_id": "100000001", "app_secret": "s"},
		"honor":   {"app_id": "104433", "client_id": "c1", "client_secret": "s"},
		"oppo":    {"app_key": "k1", "master_secret": "s"},
		"vivo":    {"app_id": "10004", "app_key": "k1", "app_secret": "s"},
		"wns":     {"package_sid": "ms-app://S-1-15-2-1", "client_secret": "s"},
		"xiaomi":  {"app_secret": "s", "package_name": "com.example.app"},
		"webpush": {"vapid_private_key": "not a key", "subject": "mailto:ops@example.com"},
	}
	for i, name := range vendors.Names() {
		b, err := json.Marshal(seeds[name])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Add(uint8(0), []byte(`{"topic":"t","certificate":"MIIB","certificate_password":"x"}`))
	f.Add(uint8(0), []byte(`{"topic":"t","certificate":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"}`))
	f.Add(uint8(1), []byte(`{"service_account":{"private_key":"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"}}`))
	f.Add(uint8(2), []byte(`{"app_id":1}`))
	f.Add(uint8(3), []byte(`[]`))
	f.Add(uint8(4), []byte(`{"unknown":true}`))
	names := vendors.Names()
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		vendor := names[int(which)%len(names)]
		s, err := vendors.Build(vendor, raw, vendors.Env{})
		if err != nil {
			if !errors.Is(err, vendors.ErrInvalid) {
				t.Fatalf("%s: a refusal that is not ErrInvalid for %q: %v", vendor, raw, err)
			}
			return
		}
		if s == nil || s.Vendor() != vendor {
			t.Fatalf("%s: accepted %q but built %v", vendor, raw, s)
		}
	})
}
