package xiaomi

import (
	"net/http"
	"testing"
	"time"

	"github.com/mopush/mopush/relay/internal/conformance"
)

func FuzzParseSend(f *testing.F) {
	f.Add(200, []byte(`{"result":"ok","code":0,"data":{"id":"acm1"},"description":"成功"}`))
	f.Add(200, []byte(`{"result":"error","reason":"No valid targets!","code":20301,"description":"发送消息失败"}`))
	f.Add(200, []byte(`{"result":"error","code":"21301","reason":"Invalid application secret."}`))
	f.Add(503, []byte(`<html>busy</html>`))
	f.Add(400, []byte(`{"code":null}`))
	f.Add(200, []byte(`{"result":"ok","code":1e99}`))
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		h := http.Header{"Retry-After": {"3"}}
		res, err := parseSend(status, h, body, "tok", now)
		if cerr := conformance.CheckContract(err); cerr != nil {
			t.Fatal(cerr)
		}
		if err == nil && status/100 != 2 {
			t.Fatalf("status %d accepted", status)
		}
		if err != nil && res.VendorID != "" {
			t.Fatal("result with error")
		}
	})
}
