package testsrv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// redisStartTimeout bounds how long a start waits for PING to answer.
	redisStartTimeout = 15 * time.Second
	// redisStopTimeout bounds how long Close waits after SIGTERM before it
	// kills the server.
	redisStopTimeout = 5 * time.Second
	// redisPortAttempts is how many free ports a launch tries when another
	// process takes the picked port first.
	redisPortAttempts = 10
)

// Redis is a redis-server child process owned by a test.
type Redis struct {
	// Addr is the TCP address, "127.0.0.1:<port>".
	Addr string
	// Socket is the path of the unix socket.
	Socket string

	bin  string
	port int
	daemon
}

// process is one run of the server.
type process struct {
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed when the process has exited
	err  error         // exit status, set before done is closed
}

// StartRedis starts a redis-server for the test and stops it when the test
// ends. Without redis-server on PATH it skips the test, or fails it when the
// CI environment variable is set.
func StartRedis(tb testing.TB) *Redis {
	tb.Helper()
	r, err := LaunchRedis()
	if errors.Is(err, ErrNoRedisServer) {
		if InCI() {
			tb.Fatalf("%v (CI is set; install the redis-server package)", err)
		}
		tb.Skipf("%v; install the redis-server package to run this test", err)
	}
	if err != nil {
		tb.Fatalf("start redis: %v", err)
	}
	tb.Cleanup(func() {
		if err := r.Close(); err != nil {
			tb.Errorf("stop redis: %v", err)
		}
	})
	return r
}

// InCI reports whether the CI environment variable is set, where a missing
// server is a failure rather than a reason to skip.
func InCI() bool { return os.Getenv("CI") != "" }

// LaunchRedis starts a redis-server and returns once it answers PING. It is
// the variant of StartRedis for TestMain: the caller must call Close. It
// returns an error wrapping ErrNoRedisServer when redis-server is not on PATH.
func LaunchRedis() (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoRedisServer, err)
	}
	// os.MkdirTemp rather than t.TempDir: a unix socket path must stay
	// under about 100 bytes, and test names make t.TempDir paths long.
	dir, err := os.MkdirTemp("", "mopush-redis-")
	if err != nil {
		return nil, fmt.Errorf("make redis dir: %w", err)
	}
	r := &Redis{bin: bin, Socket: filepath.Join(dir, "redis.sock")}
	r.daemon = daemon{name: "redis", dir: dir, stopTimeout: redisStopTimeout, run: r.run}
	err = r.launch(redisPortAttempts, func(port int) {
		r.port = port
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	})
	if err != nil {
		os.RemoveAll(dir) //nolint:errcheck // best effort after a failed start
		return nil, err
	}
	return r, nil
}

// run starts the server on r.port and waits for PING. r.mu is held.
func (r *Redis) run() error {
	return r.spawn(r.bin, []string{
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--unixsocket", r.Socket,
		"--unixsocketperm", "700",
		"--save", "",
		"--appendonly", "no",
		"--dir", r.dir,
		"--daemonize", "no",
		"--logfile", "",
		"--loglevel", "warning",
	}, 8<<10, r.waitReady)
}

// waitReady polls PING on both listeners until they answer, the process
// exits, or the start timeout passes.
func (r *Redis) waitReady(p *process) error {
	deadline := time.Now().Add(redisStartTimeout)
	pause := time.Millisecond
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		lastErr := ping("unix", r.Socket)
		if lastErr == nil {
			if lastErr = ping("tcp", r.Addr); lastErr == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer PING within %s: %w; output: %s",
				r.Addr, redisStartTimeout, lastErr, p.out)
		}
		timer.Reset(pause)
		select {
		case <-p.done:
			out := p.out.String()
			if strings.Contains(out, "Address already in use") {
				return fmt.Errorf("redis-server on %s: %w", r.Addr, errAddrInUse)
			}
			return fmt.Errorf("redis-server exited at start: %v; output: %s", p.err, out)
		case <-timer.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// ping sends one inline PING and expects +PONG.
func ping(network, addr string) error {
	conn, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("unexpected PING reply %q", line)
	}
	return nil
}

// kill sends SIGKILL and waits for the process to exit.
func (p *process) kill() {
	p.cmd.Process.Kill() //nolint:errcheck // fails only when already exited
	<-p.done
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// Write appends b, dropping the oldest bytes beyond max.
func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

// String returns what the buffer holds.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
