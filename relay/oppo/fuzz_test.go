package oppo

import (
	"net/http"
	"testing"
	"time"

	"github.com/mopush/mopush/relay/internal/conformance"
)

var fuzzNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func seeds(f *testing.F) {
	f.Add(200, []byte(`{"code":0,"message":"Success","data":{"messageId":"a-1-1-x"}}`))
	f.Add(200, []byte(`{"code":0,"message":"success","data":{"auth_token":"t","create_time":1}}`))
	f.Add(200, []byte(`{"code":10000,"message":"Invalid Registration_id"}`))
	f.Add(200, []byte(`{"code":11,"message":"Invalid AuthToken"}`))
	f.Add(200, []byte(`{"code":"-2","message":"Service in Flow Control"}`))
	f.Add(200, []byte(`{"code":0,"data":"ZngnvJIM7wQusNtbqYnpH6XX-1-1-622"}`))
	f.Add(502, []byte(`bad gateway`))
}

func FuzzParseSend(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		_, err := parseSend(status, http.Header{"Retry-After": {"2"}}, body, "tok", fuzzNow)
		if cerr := conformance.CheckContract(err); cerr != nil {
			t.Fatal(cerr)
		}
		if err == nil && status/100 != 2 {
			t.Fatalf("status %d accepted", status)
		}
	})
}

func FuzzParseAuth(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		tok, err := parseAuth(status, http.Header{}, body, fuzzNow)
		if cerr := conformance.CheckContract(err); cerr != nil {
			t.Fatal(cerr)
		}
		if err == nil && tok == "" {
			t.Fatal("empty token accepted")
		}
	})
}
