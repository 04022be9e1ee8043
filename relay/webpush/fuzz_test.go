package webpush

import (
	"testing"

	"github.com/mopush/mopush/relay/internal/conformance"
)

func FuzzParseSubscription(f *testing.F) {
	f.Add(`{"endpoint":"https://push.example.net/p/1","keys":{"p256dh":"` + rfcUAPublic + `","auth":"` + rfcAuth + `"}}`)
	f.Add(`{"endpoint":"https://push.example.net/p/1","expirationTime":null,"keys":{"p256dh":"` + rfcUAPublic + `==","auth":"` + rfcAuth + `=="}}`)
	f.Add(`{"endpoint":"http://x","keys":{}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, token string) {
		sub, err := ParseSubscription(token)
		if err != nil {
			return
		}
		if len(sub.Auth) != 16 || len(sub.P256DH) != 65 || sub.origin() == "" || sub.host() == "" {
			t.Fatalf("accepted a bad subscription: %+v", sub)
		}
		if _, err := Encrypt([]byte("x"), sub); err != nil {
			t.Fatalf("accepted subscription cannot be encrypted for: %v", err)
		}
	})
}

func FuzzClassify(f *testing.F) {
	f.Add(201, "https://push.example.net/m/1", "")
	f.Add(429, "", "30")
	f.Add(410, "", "")
	f.Fuzz(func(t *testing.T, status int, location, retryAfter string) {
		if status < 100 || status > 599 {
			return
		}
		h := map[string][]string{"Location": {location}, "Retry-After": {retryAfter}}
		_, err := classify(status, h)
		if cerr := conformance.CheckContract(err); cerr != nil {
			t.Fatal(cerr)
		}
	})
}
