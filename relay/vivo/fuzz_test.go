package vivo

import (
	"net/http"
	"testing"
	"time"

	"github.com/mopush/mopush/relay/internal/conformance"
)

var fuzzNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func seeds(f *testing.F) {
	f.Add(200, []byte(`{"result":0,"desc":"请求成功","taskId":"12139732"}`))
	f.Add(200, []byte(`{"result":0,"desc":"请求成功","authToken":"24ojds98fu3jqrioeu982134jieds9fq43u09uaf"}`))
	f.Add(200, []byte(`{"result":10302,"desc":"regId 不合法","invalidUser":{"status":1,"userid":"tok"}}`))
	f.Add(200, []byte(`{"result":"10000","desc":"权限认证失败"}`))
	f.Add(200, []byte(`{"result":10070,"desc":"发送总量超出限制"}`))
	f.Add(500, []byte(`Internet server error!`))
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
