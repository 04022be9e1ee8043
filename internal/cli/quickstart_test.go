package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitLimit bounds each wait of the quick start for something to happen; it
// is a deadline against hangs, not a measurement.
const waitLimit = 30 * time.Second

// TestQuickStart follows README.md's quick start with the real command
// line, each command a process of its own: mopush all, mopush app create
// (the admin token read from the data directory), mopush device run, a
// push over REST and its counts; then the device stopped with an
// interrupt, two pushes while it is away, and the device started again
// with the same state file: both arrive, each once, in order; then an
// alias given to the device, and a push to the alias; last the alias's
// devices listed, and the device deleted, which ends it.
func TestQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a server and a device")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	server := startCommand(t, "all", "--listen", "127.0.0.1:0", "--data", data)
	url := server.waitMatch(t, regexp.MustCompile(`API:\s+(http://\S+)/v1`))

	out := runCommand(t, "app", "create", "--name", "demo", "--server", url, "--data", data)
	var app struct {
		AppKey       string `json:"app_key"`
		MasterSecret string `json:"master_secret"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &app), "app create printed %s", out)
	require.NotEmpty(t, app.AppKey)
	require.NotEmpty(t, app.MasterSecret)

	// The portal's first admin, the password read from standard input,
	// signs in.
	out = runCommandIn(t, "a long password\n", "user", "create", "--email", "Me@Example.com", "--role", "admin", "--server", url, "--data", data)
	require.Contains(t, out, `"email": "me@example.com"`)
	resp, err := http.Post(url+"/portal/api/session", "application/json", strings.NewReader(`{"email":"me@example.com","password":"a long password"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a sign-in without the portal header")
	req, err := http.NewRequest(http.MethodPost, url+"/portal/api/session", strings.NewReader(`{"email":"me@example.com","password":"a long password"}`))
	require.NoError(t, err)
	req.Header.Set("Mopush-Portal", "1")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the new admin signs in to the portal")

	state := filepath.Join(dir, "device.json")
	device := startCommand(t, "device", "run", "--server", url, "--app-key", app.AppKey, "--state", state)
	ready := device.waitEvent(t, "ready")
	deviceID := ready["device_id"].(string)
	require.NotEmpty(t, deviceID)

	push := func(title, body string) string {
		t.Helper()
		req := fmt.Sprintf(`{"audience":{"device_ids":[%q]},"notification":{"title":%q,"body":%q}}`, deviceID, title, body)
		code, answer := call(t, http.MethodPost, url+"/v1/pushes", app.AppKey, app.MasterSecret, req)
		require.Equal(t, http.StatusAccepted, code, "%s", answer)
		id, _ := answer["push_id"].(string)
		require.NotEmpty(t, id)
		return id
	}
	acked := func(id string) { // and delivered
		t.Helper()
		deadline := time.Now().Add(waitLimit)
		for {
			code, answer := call(t, http.MethodGet, url+"/v1/pushes/"+id, app.AppKey, app.MasterSecret, "")
			require.Equal(t, http.StatusOK, code, "%v", answer)
			counts, _ := answer["counts"].(map[string]any)
			// delivered is written every 100 ms and may trail acked
			// (api.md section 7).
			if counts["acked"] == 1.0 && counts["delivered"] == 1.0 {
				require.Equal(t, 1.0, counts["targeted"], "%v", answer)
				return
			}
			require.True(t, time.Now().Before(deadline), "push %s not acked and delivered: %v", id, answer)
			time.Sleep(20 * time.Millisecond)
		}
	}

	first := push("hi", "there")
	got := device.waitEvent(t, "push")
	require.Equal(t, map[string]any{"event": "push", "push_id": first, "seq": 1.0, "title": "hi", "body": "there"}, got)
	acked(first)

	device.interrupt(t)
	second, third := push("while", "away"), push("and", "again")
	device = startCommand(t, "device", "run", "--server", url, "--state", state)
	require.Equal(t, deviceID, device.waitEvent(t, "ready")["device_id"], "the state file resumes the device")
	for i, id := range []string{second, third} {
		got := device.waitEvent(t, "push")
		require.Equal(t, id, got["push_id"])
		require.Equal(t, float64(i+2), got["seq"])
	}
	acked(second)
	acked(third)
	require.Equal(t, 2, device.count("push"), "each missed push once: %s", device.output())

	// The device gets an alias, and a push to the alias reaches it.
	code, answer := call(t, http.MethodPatch, url+"/v1/devices/"+deviceID, app.AppKey, app.MasterSecret, `{"alias":"user-1"}`)
	require.Equal(t, http.StatusOK, code, "%v", answer)
	require.Equal(t, "user-1", answer["alias"])
	code, answer = call(t, http.MethodPost, url+"/v1/pushes", app.AppKey, app.MasterSecret,
		`{"audience":{"aliases":["user-1"]},"notification":{"title":"hi","body":"user"}}`)
	require.Equal(t, http.StatusAccepted, code, "%v", answer)
	got = device.waitEvent(t, "push")
	require.Equal(t, answer["push_id"], got["push_id"])
	require.Equal(t, "user", got["body"])
	acked(got["push_id"].(string))

	// The backend finds the user's devices and deletes this one: its
	// session ends with 4500 and the device exits.
	code, answer = call(t, http.MethodGet, url+"/v1/devices?alias=user-1", app.AppKey, app.MasterSecret, "")
	require.Equal(t, http.StatusOK, code, "%v", answer)
	require.Equal(t, false, answer["more"])
	listed := answer["devices"].([]any)
	require.Len(t, listed, 1)
	require.Equal(t, deviceID, listed[0].(map[string]any)["device_id"])
	code, answer = call(t, http.MethodDelete, url+"/v1/devices/"+deviceID, app.AppKey, app.MasterSecret, "")
	require.Equal(t, http.StatusNoContent, code, "%v", answer)
	device.requireExit(t)
	require.Contains(t, device.stderr.String(), "peer error 4500 (auth_failed): device deleted")
	server.interrupt(t)
}

// requireExit waits for the process to end with an error status.
func (c *process) requireExit(t *testing.T) {
	t.Helper()
	go func() {
		for range c.lines { // drain: the process may print while it stops
		}
	}()
	select {
	case err := <-c.done:
		require.Error(t, err, "%v ended with status 0; stderr:\n%s", c.cmd.Args[1:], c.stderr.String())
	case <-time.After(waitLimit):
		t.Fatalf("%v did not stop", c.cmd.Args[1:])
	}
}

// process is a mopush process of the test binary (see TestMain) whose
// standard output the test reads line by line.
type process struct {
	cmd    *exec.Cmd
	stderr lockedBuffer
	lines  chan string
	done   chan error

	mu   sync.Mutex
	seen []string
}

// startCommand starts mopush with args; the test's cleanup kills it if it
// still runs.
func startCommand(t *testing.T, args ...string) *process {
	t.Helper()
	c := &process{cmd: exec.Command(os.Args[0], args...), lines: make(chan string, 256), done: make(chan error, 1)}
	c.cmd.Env = mopushEnv()
	c.cmd.Stderr = &c.stderr
	stdout, err := c.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.cmd.Start())
	go c.read(stdout)
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill() //nolint:errcheck // may have exited
			<-c.done
		}
	})
	return c
}

// mopushEnv is this process's environment for a child that runs as mopush,
// without an admin token of the caller's: the commands find the token in
// the data directory, as the quick start says.
func mopushEnv() []string {
	env := []string{asMopush + "=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOPUSH_") {
			env = append(env, kv)
		}
	}
	return env
}

// read passes the process's output lines to c.lines, then its exit.
func (c *process) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		c.mu.Lock()
		c.seen = append(c.seen, sc.Text())
		c.mu.Unlock()
		c.lines <- sc.Text()
	}
	close(c.lines)
	c.done <- c.cmd.Wait()
}

// next returns the next output line; it fails the test when the process
// ends or nothing comes within waitLimit.
func (c *process) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		require.True(t, ok, "%v ended; stderr:\n%s", c.cmd.Args[1:], c.stderr.String())
		return line
	case <-time.After(waitLimit):
		t.Fatalf("%v printed nothing more; stderr:\n%s", c.cmd.Args[1:], c.stderr.String())
		return ""
	}
}

// waitMatch reads lines until one matches re and returns its first group.
func (c *process) waitMatch(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	for {
		if m := re.FindStringSubmatch(c.next(t)); m != nil {
			return m[1]
		}
	}
}

// waitEvent reads JSON lines until an event of kind and returns it.
func (c *process) waitEvent(t *testing.T, kind string) map[string]any {
	t.Helper()
	for {
		line := c.next(t)
		var ev map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &ev), "line %q", line)
		if ev["event"] == kind {
			return ev
		}
	}
}

// count returns how many events of kind the process printed so far.
func (c *process) count(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, line := range c.seen {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) == nil && ev["event"] == kind {
			n++
		}
	}
	return n
}

// output returns everything the process printed so far.
func (c *process) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.seen, "\n")
}

// interrupt sends the process an interrupt, as Ctrl-C does, and requires
// it to exit with status 0.
func (c *process) interrupt(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGINT))
	go func() {
		for range c.lines { // drain: the process may print while it stops
		}
	}()
	select {
	case err := <-c.done:
		require.NoError(t, err, "%v after an interrupt; stderr:\n%s", c.cmd.Args[1:], c.stderr.String())
	case <-time.After(waitLimit):
		t.Fatalf("%v did not stop after an interrupt", c.cmd.Args[1:])
	}
}

// runCommand runs mopush with args to its end and returns its output.
func runCommand(t *testing.T, args ...string) string {
	t.Helper()
	return runCommandIn(t, "", args...)
}

// runCommandIn is runCommand with stdin as the command's standard input.
func runCommandIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = mopushEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%v; stderr:\n%s", args, stderr.String())
	return string(out)
}

// call makes one REST call with the app's credentials and decodes the
// JSON answer.
func call(t *testing.T, method, url, user, password, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth(user, password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	answer := map[string]any{}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &answer), "answer %s", raw)
	}
	return resp.StatusCode, answer
}
