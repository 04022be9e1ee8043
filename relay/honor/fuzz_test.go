package honor

import (
	"net/http"
	"testing"
	"time"

	"github.com/mopush/mopush/relay/internal/conformance"
)

func FuzzParseSend(f *testing.F) {
	f.Add(200, []byte(`{"code":200,"message":"success","data":{"sendResult":true,"requestId":"r1","failTokens":[],"expireTokens":[]}}`))
	f.Add(200, []byte(`{"code":"80300007","message":"all the tokens are invalid"}`))
	f.Add(200, []byte(`{"code":80100000,"data":{"expireTokens":["tok"]}}`))
	f.Add(403, []byte(`{"code":403,"message":"authentication failed"}`))
	f.Add(503, []byte(`{"code":503}`))
	f.Add(200, []byte(`{"code":200,"data":null}`))
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		_, err := parseSend(status, http.Header{"Retry-After": {"2"}}, body, "tok", now)
		if cerr := conformance.CheckContract(err); cerr != nil {
			t.Fatal(cerr)
		}
		if err == nil && status/100 != 2 {
			t.Fatalf("status %d accepted", status)
		}
	})
}
