package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/mopush/mopush/internal/node"
)

// readyTimeout bounds the start of a spawned server.
const readyTimeout = 60 * time.Second

// target is the server under test: an existing one, or a `mopush all` the
// bench spawned (proc set).
type target struct {
	url   string
	port  int
	pid   int
	admin string
	proc  *serverProc
}

// serverProc is a spawned `mopush all` with its data directory.
type serverProc struct {
	exe, dir, listen, logPath string
	env                       []string
	cmd                       *exec.Cmd
	exited                    chan struct{}
	log                       *slog.Logger
}

// openTarget connects to cfg.Server, or spawns a server on a free port of
// 127.0.0.1 with a fresh data directory.
func openTarget(ctx context.Context, cfg Config) (*target, error) {
	if cfg.Server != "" {
		return existingTarget(cfg)
	}
	return spawnTarget(ctx, cfg)
}

func existingTarget(cfg Config) (*target, error) {
	port, err := serverPort(cfg.Server)
	if err != nil {
		return nil, err
	}
	t := &target{url: strings.TrimRight(cfg.Server, "/"), port: port, pid: cfg.PID, admin: cfg.AdminToken}
	if t.admin == "" {
		t.admin = os.Getenv("MOPUSH_ADMIN_TOKEN")
	}
	if t.admin == "" {
		return nil, errors.New("no admin token for --server: pass --admin-token or set MOPUSH_ADMIN_TOKEN")
	}
	if t.pid == 0 {
		if t.pid, err = PIDByPort(port); err != nil {
			return nil, fmt.Errorf("find the server process (pass --pid): %w", err)
		}
	}
	return t, nil
}

func spawnTarget(ctx context.Context, cfg Config) (*target, error) {
	dir, err := os.MkdirTemp("", "mopush-bench-")
	if err != nil {
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	p := &serverProc{exe: cfg.Executable, dir: dir, listen: listen, logPath: dir + "/server.log", log: cfg.Logger,
		env: serverEnv(cfg.AdminToken)}
	t := &target{url: "http://" + listen, port: port, proc: p}
	if err := t.restart(ctx); err != nil {
		t.close(ctx)
		return nil, err
	}
	t.admin = cfg.AdminToken
	if t.admin == "" {
		t.admin = os.Getenv("MOPUSH_ADMIN_TOKEN")
	}
	if t.admin == "" {
		b, err := os.ReadFile(node.AdminTokenPath(dir))
		if err != nil {
			t.close(ctx)
			return nil, fmt.Errorf("spawned server's admin token: %w", err)
		}
		t.admin = strings.TrimSpace(string(b))
	}
	return t, nil
}

// serverEnv is the bench's environment for the spawned server, quieter
// (warn) unless a log level is set, and with the admin token if one was
// given.
func serverEnv(adminToken string) []string {
	env := os.Environ()
	if os.Getenv("MOPUSH_LOG_LEVEL") == "" {
		env = append(env, "MOPUSH_LOG_LEVEL=warn")
	}
	if adminToken != "" {
		env = append(env, "MOPUSH_ADMIN_TOKEN="+adminToken)
	}
	return env
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// restart starts the spawned server (again) on its port and data
// directory and waits until it is ready.
func (t *target) restart(ctx context.Context) error {
	p := t.proc
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(p.exe, "all", "--listen", p.listen, "--data", p.dir)
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, logf, logf
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) {
		cmd.Wait() //nolint:errcheck // the exit is what matters
		close(exited)
	}(p.exited)
	t.pid = cmd.Process.Pid
	if err := t.waitReady(ctx); err != nil {
		return fmt.Errorf("%w\n%s", err, tail(p.logPath, 20))
	}
	return nil
}

// waitReady polls /readyz until it answers 200, the process exits, or
// readyTimeout passes.
func (t *target) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	ready := func() bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.url+"/readyz", nil)
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !ready() {
		select {
		case <-t.proc.exited:
			return fmt.Errorf("server exited before it was ready (log: %s)", t.proc.logPath)
		case <-ctx.Done():
			return fmt.Errorf("server not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// kill ends the spawned server with SIGKILL, as a crash would, and waits
// for it to be gone.
func (t *target) kill() error {
	p := t.proc
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill server: %w", err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("kill server: still running after 10s")
	}
}

// close stops a spawned server (SIGTERM, SIGKILL after 30 seconds) and
// removes its data directory; an existing server is left alone.
func (t *target) close(ctx context.Context) {
	p := t.proc
	if p == nil {
		return
	}
	defer os.RemoveAll(p.dir)
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // may be gone
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.log.WarnContext(ctx, "server did not stop; killing it", "pid", p.cmd.Process.Pid)
		p.cmd.Process.Kill() //nolint:errcheck // may be gone
		<-p.exited
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
