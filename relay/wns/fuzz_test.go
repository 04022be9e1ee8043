package wns

import (
	"net/http"
	"testing"
	"time"

	"github.com/mopush/mopush/relay/internal/conformance"
)

func FuzzParseSend(f *testing.F) {
	f.Add(200, "ABC123", "", "received", "")
	f.Add(410, "", "The channel expired.", "", "")
	f.Add(406, "", "throttled", "channelthrottled", "12")
	f.Add(401, "", "", "", "")
	f.Add(503, "", "\x00\xff", "", "Wed, 21 Oct 2026 07:28:00 GMT")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, msgID, desc, wnsStatus, retryAfter string) {
		if status < 100 || status > 999 {
			return
		}
		h := http.Header{}
		h.Set("X-WNS-Msg-ID", msgID)
		h.Set("X-WNS-Error-Description", desc)
		h.Set("X-WNS-Status", wnsStatus)
		h.Set("Retry-After", retryAfter)
		_, err := parseSend(status, h, now)
		if cerr := conformance.CheckContract(err); cerr != nil {
			t.Fatal(cerr)
		}
		if err == nil && status != http.StatusOK {
			t.Fatalf("status %d accepted", status)
		}
	})
}

func FuzzChannel(f *testing.F) {
	f.Add("https://db5.notify.windows.com/?token=AwYAAAB")
	f.Add("http://db5.notify.windows.com/?token=x")
	f.Add("https://127.0.0.1:4443/?token=x")
	f.Add("https://evil.example/?a=.notify.windows.com")
	s, err := New(Config{PackageSID: "ms-app://x", ClientSecret: "s", AllowedHosts: []string{"127.0.0.1:4443"}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := s.channel(raw)
		if cerr := conformance.CheckContract(err); cerr != nil {
			t.Fatal(cerr)
		}
		if err != nil {
			return
		}
		if got != raw {
			t.Fatal("channel URI changed")
		}
		if _, err := http.NewRequest(http.MethodPost, got, nil); err != nil {
			t.Fatalf("accepted channel URI is unusable: %v", err)
		}
	})
}
