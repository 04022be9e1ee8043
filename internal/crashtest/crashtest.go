// Package crashtest sends pushes to a server that a test fails meanwhile
// (kills it, cuts its power) and keeps the ones the server accepted, for
// the tests that check that nothing accepted is lost.
package crashtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Everyone marks a broadcast among the accepted pushes.
const Everyone = -1

// Push sends one push with the app's credentials and returns its id when
// the server accepted it (202); otherwise "" and what went wrong.
func Push(hc *http.Client, base, appKey, secret, body string) (id, failure string) {
	req, err := http.NewRequest(http.MethodPost, base+"/v1/pushes", bytes.NewBufferString(body))
	if err != nil {
		return "", err.Error()
	}
	req.SetBasicAuth(appKey, secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err.Error()
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err.Error()
	}
	var answer struct {
		PushID string `json:"push_id"`
	}
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(raw, &answer) != nil {
		return "", fmt.Sprintf("%d %s", resp.StatusCode, raw)
	}
	return answer.PushID, ""
}

// Senders push to a server until enough pushes are accepted: three send to
// the devices in turn, a fourth sends broadcasts. A call that gets no
// answer, or any answer but 202, accepts nothing; the sender waits 20 ms
// and goes on.
type Senders struct {
	wg          sync.WaitGroup
	mu          sync.Mutex
	accepted    map[string]int // push id → device index, or Everyone
	lastFailure string
}

// Send starts the senders: they push to base with the app's credentials
// until want pushes are accepted or until passes.
func Send(base, appKey, secret string, deviceIDs []string, want int, until time.Time) *Senders {
	s := &Senders{accepted: map[string]int{}}
	hc := &http.Client{Timeout: 2 * time.Second}
	for p := range 4 {
		s.wg.Go(func() {
			for i := p; s.Count() < want && time.Now().Before(until); i += 4 {
				d := i % len(deviceIDs)
				body := fmt.Sprintf(`{"audience":{"device_ids":[%q]},"notification":{"title":"n%d"}}`, deviceIDs[d], i)
				if p == 3 {
					d, body = Everyone, fmt.Sprintf(`{"audience":{"broadcast":true},"notification":{"title":"b%d"}}`, i)
				}
				id, failure := Push(hc, base, appKey, secret, body)
				s.mu.Lock()
				if id != "" {
					s.accepted[id] = d
				} else {
					s.lastFailure = failure
				}
				s.mu.Unlock()
				if id == "" {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	return s
}

// Count is how many pushes were accepted so far.
func (s *Senders) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

// Wait waits for the senders to stop and returns the accepted pushes (push
// id → device index, or Everyone) and the last refusal.
func (s *Senders) Wait() (accepted map[string]int, lastFailure string) {
	s.wg.Wait()
	return s.accepted, s.lastFailure
}

// Want returns, for each of n devices, the accepted pushes it must read.
func Want(accepted map[string]int, n int) []map[string]bool {
	want := make([]map[string]bool, n)
	for i := range want {
		want[i] = map[string]bool{}
	}
	for id, d := range accepted {
		for i := range want {
			if d == Everyone || d == i {
				want[i][id] = true
			}
		}
	}
	return want
}

// FreeAddr returns a loopback address whose port was free a moment ago,
// so that a server started again on it is found where it was.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
