package fcm

import (
	"net/http"
	"testing"

	"github.com/mopush/mopush/relay/internal/conformance"
)

func FuzzClassify(f *testing.F) {
	f.Add(404, []byte(`{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`), "")
	f.Add(400, []byte(`{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT"}}`), "")
	f.Add(429, []byte(`{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}`), "30")
	f.Add(502, []byte(`<html>bad gateway</html>`), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(400, []byte(`{"error":{"details":[{"fieldViolations":[{"field":"message.token"}]}]}}`), "")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		if status < 100 || status > 599 || status/100 == 2 {
			return
		}
		err := classify(status, http.Header{"Retry-After": {retryAfter}}, body, "the-token")
		if err == nil || conformance.CheckContract(err) != nil {
			t.Fatalf("classify(%d, %q) = %v", status, body, err)
		}
	})
}

func FuzzParseServiceAccount(f *testing.F) {
	f.Add([]byte(`{"type":"service_account","client_email":"a@b","private_key":"x","project_id":"p"}`))
	f.Add([]byte(`{"type":1}`))
	f.Add([]byte(`{"error":"invalid_grant"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if sa, err := parseServiceAccount(b); err == nil && (sa.Type != "service_account" || sa.ClientEmail == "") {
			t.Fatalf("accepted %q", b)
		}
		_ = oauthErrorCode(b)
	})
}
