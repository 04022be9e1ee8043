package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/crashtest"
)

// TestOneBinarySurvivesAKill kills mopush all with SIGKILL while pushes
// and broadcasts are being sent to two devices, and starts it again on the
// same data directory and port. Every push the server accepted (202)
// before or after the kill reaches its devices, once, and ends routed: the push, its stream
// message and its place among the pending pushes were stored before the
// answer, and the restarted server resumes what the killed one left
// undone. The devices keep running throughout and reconnect by
// themselves.
func TestOneBinarySurvivesAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a server twice and two devices")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := crashtest.FreeAddr(t)
	apiLine := regexp.MustCompile(`API:\s+(http://\S+)/v1`)
	server := startCommand(t, "all", "--listen", addr, "--data", data)
	url := server.waitMatch(t, apiLine)

	var app struct {
		AppKey       string `json:"app_key"`
		MasterSecret string `json:"master_secret"`
	}
	out := runCommand(t, "app", "create", "--name", "crash", "--server", url, "--data", data)
	require.NoError(t, json.Unmarshal([]byte(out), &app), "app create printed %s", out)
	devices := make([]*process, 2)
	ids := make([]string, 2)
	for i := range devices {
		devices[i] = startCommand(t, "device", "run", "--server", url, "--app-key", app.AppKey,
			"--state", filepath.Join(dir, fmt.Sprintf("device%d.json", i)))
		ids[i] = devices[i].waitEvent(t, "ready")["device_id"].(string)
	}

	// Three senders push to the devices in turn, and a fourth sends
	// broadcasts, until 30 pushes are accepted; a call the dead server
	// cannot answer accepts nothing.
	senders := crashtest.Send(url, app.AppKey, app.MasterSecret, ids, 30, time.Now().Add(2*waitLimit))
	deadline := time.Now().Add(waitLimit)
	for senders.Count() < 10 {
		require.True(t, time.Now().Before(deadline), "10 pushes not accepted")
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, server.cmd.Process.Signal(syscall.SIGKILL))
	<-server.done
	killedAt := senders.Count()
	server = startCommand(t, "all", "--listen", addr, "--data", data)
	require.Equal(t, url, server.waitMatch(t, apiLine), "the same address again")
	accepted, lastFailure := senders.Wait()
	require.GreaterOrEqual(t, len(accepted), 30, "pushes accepted; the last refusal: %s", lastFailure)
	require.Less(t, killedAt, 30, "pushes were accepted after the restart too")

	// Every accepted push reaches its device once and ends routed.
	want := crashtest.Want(accepted, len(devices))
	for i, dev := range devices {
		var got map[string]int
		deadline := time.Now().Add(2 * waitLimit) // the device's reconnect backoff included
		for {
			got = dev.pushes()
			var missing []string
			for id := range want[i] {
				if got[id] == 0 {
					missing = append(missing, id)
				}
			}
			if len(missing) == 0 {
				break
			}
			if !time.Now().Before(deadline) {
				for _, id := range missing {
					_, answer := call(t, http.MethodGet, url+"/v1/pushes/"+id, app.AppKey, app.MasterSecret, "")
					t.Logf("missing push %s: %v", id, answer)
				}
				t.Fatalf("device %d misses %d of %d accepted pushes; it printed:\n%s\nserver:\n%s",
					i, len(missing), len(want[i]), dev.output(), server.stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		for id, n := range got {
			require.Equal(t, 1, n, "device %d read push %s %d times", i, id, n)
		}
	}
	for id := range accepted { // a push is marked done a moment after its delivery
		deadline := time.Now().Add(waitLimit)
		for {
			code, answer := call(t, http.MethodGet, url+"/v1/pushes/"+id, app.AppKey, app.MasterSecret, "")
			require.Equal(t, http.StatusOK, code, "%v", answer)
			counts, _ := answer["counts"].(map[string]any)
			if answer["state"] == "done" && accepted[id] == crashtest.Everyone {
				break
			}
			// A push to one device is counted delivered and acked once:
			// the embedded store writes those counts with the watermarks
			// they follow, so the kill loses neither without the other.
			if answer["state"] == "done" && counts["delivered"] == 1.0 && counts["acked"] == 1.0 {
				require.Equal(t, 1.0, counts["targeted"], "push %s: %v", id, answer)
				break
			}
			require.True(t, time.Now().Before(deadline), "push %s not done, or not counted once: %v", id, answer)
			time.Sleep(20 * time.Millisecond)
		}
	}
	broadcasts := 0
	for _, d := range accepted {
		if d == crashtest.Everyone {
			broadcasts++
		}
	}
	t.Logf("%d pushes accepted before the kill, %d in all, %d of them broadcasts", killedAt, len(accepted), broadcasts)
	for _, dev := range devices {
		dev.interrupt(t)
	}
	server.interrupt(t)
}

// pushes returns how many times the process printed each push event, by
// push id.
func (c *process) pushes() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := map[string]int{}
	for _, line := range c.seen {
		var ev struct {
			Event  string `json:"event"`
			PushID string `json:"push_id"`
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "push" {
			got[ev.PushID]++
		}
	}
	return got
}
