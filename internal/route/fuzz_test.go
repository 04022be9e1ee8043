package route

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// broadcasts is a Broadcaster that counts what it is given.
type broadcasts struct{ got int }

func (b *broadcasts) Broadcast(context.Context, Broadcast) (BroadcastResult, error) {
	b.got++
	return BroadcastResult{Sessions: 1, Written: 1}, nil
}

// disconnects is a Disconnecter that records what it is given.
type disconnects struct{ got [][]string }

func (d *disconnects) Disconnect(_ context.Context, x Disconnect) (DisconnectResult, error) {
	d.got = append(d.got, x.DeviceIDs)
	return DisconnectResult{Closed: len(x.DeviceIDs)}, nil
}

// FuzzHandlers feeds arbitrary bodies, with the internal token, to the
// connector's three internal endpoints: neither may panic or answer 500 for
// a body it cannot use (a 4xx problem+json refuses it and reaches no
// connector), and a batch it takes is answered with one result per device,
// in the form the gateway's client reads.
func FuzzHandlers(f *testing.F) {
	f.Add(`{"message":{"push_id":"p","title":"t"},"device_ids":["a","b"],"retry":true}`)
	f.Add(`{"app_id":"a","message":{"push_id":"p","seq":3},"epoch":2}`)
	f.Add(`{"device_ids":[1]}`)
	f.Add(`{"device_ids":["a",""]}`)
	f.Add(`{"message":{"expires_at":"yesterday"}}`)
	f.Add(`{"epoch":-1}`)
	f.Add(`{}{}`)
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, body string) {
		local := &recording{status: Written}
		bc := &broadcasts{}
		dc := &disconnects{}
		for _, h := range []struct {
			path string
			h    http.Handler
			got  func() int
		}{
			{Path, Handler(local, testToken, log), func() int { return len(local.batches) }},
			{BroadcastPath, BroadcastHandler(bc, testToken, log), func() int { return bc.got }},
			{DisconnectPath, DisconnectHandler(dc, testToken, log), func() int { return len(dc.got) }},
		} {
			before := h.got()
			req := httptest.NewRequest(http.MethodPost, h.path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			rec := httptest.NewRecorder()
			h.h.ServeHTTP(rec, req)
			switch {
			case rec.Code == http.StatusOK:
				if h.got() != before+1 {
					t.Fatalf("%s answered 200 to %q without a call", h.path, body)
				}
			case rec.Code >= 400 && rec.Code < 500:
				if h.got() != before {
					t.Fatalf("%s refused %q after a call", h.path, body)
				}
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
					t.Fatalf("%s refused %q as %q", h.path, body, ct)
				}
				continue
			default:
				t.Fatalf("%s answered %d to %q: %s", h.path, rec.Code, body, rec.Body)
			}
			if h.path != Path {
				continue
			}
			var wr wireResults
			if err := json.Unmarshal(rec.Body.Bytes(), &wr); err != nil {
				t.Fatal(err)
			}
			b := local.batches[len(local.batches)-1]
			if len(wr.Results) != len(b.DeviceIDs) {
				t.Fatalf("%d results for %d devices", len(wr.Results), len(b.DeviceIDs))
			}
			for _, r := range fromWire(wr.Results) {
				if r.Status != Written {
					t.Fatalf("status %v came back as %v", Written, r.Status)
				}
			}
		}
	})
}
