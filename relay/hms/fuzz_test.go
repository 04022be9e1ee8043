package hms

import (
	"net/http"
	"testing"

	"github.com/mopush/mopush/relay/internal/conformance"
)

func FuzzOutcome(f *testing.F) {
	f.Add(200, []byte(`{"code":"80000000","msg":"Success","requestId":"1"}`), "")
	f.Add(200, []byte(`{"code":"80100000","msg":"{\"success\":1,\"failure\":1,\"illegal_tokens\":[\"tok\"]}"}`), "")
	f.Add(400, []byte(`{"code":"80300007","msg":"All the tokens are invalid"}`), "")
	f.Add(401, []byte(`{"code":80200003,"msg":"expired"}`), "")
	f.Add(503, []byte(`<html>`), "12")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		if status < 100 || status > 599 {
			return
		}
		_, err := outcome(status, http.Header{"Retry-After": {retryAfter}}, body, "tok")
		if cerr := conformance.CheckContract(err); cerr != nil {
			t.Fatalf("outcome(%d, %q): %v", status, body, cerr)
		}
		_ = oauthError(body)
	})
}
