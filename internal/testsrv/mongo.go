package testsrv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// MongoDB for tests is FerretDB 1.24 on SQLite, built from the tool module
// in tools/ferretdb (no MongoDB server is packaged on the project's
// machines). The binary is built once per version of the tool and cached
// in the user cache directory (os.UserCacheDir, ~/.cache on Linux):
//
//	<cache>/mopush-test/ferretdb-<hash of go.mod, go.sum and the .go files>
//
// Measured on a shared 2-core machine: the first build, which compiles the
// tool's ~120 modules, took 1m39s; a rebuild with Go's build cache warm (the
// binary deleted) took about 4s; later runs find the binary and start the
// server in about half a second. Test binaries that need the tool at the
// same time take a lock file in that directory, so one builds and the
// others wait and reuse its result; the build writes to a temporary name
// and renames it into place, so no one runs half a binary.

const (
	// mongoModule is the module path of the repository's go.mod.
	mongoModule = "github.com/mopush/mopush"
	// ferretdbToolDir is the tool module, relative to the repository root.
	ferretdbToolDir = "tools/ferretdb"
	// mongoStartTimeout bounds how long a start waits for a ping to answer.
	mongoStartTimeout = 30 * time.Second
	// mongoStopTimeout bounds how long Close waits after SIGTERM before it
	// kills the server.
	mongoStopTimeout = 10 * time.Second
	// mongoPortAttempts is how many free ports a launch tries when another
	// process takes the picked port first.
	mongoPortAttempts = 10
)

// ErrNoFerretDB means the FerretDB tool could not be found or built: the
// repository root or the go command is missing, or the build failed.
var ErrNoFerretDB = errors.New("testsrv: ferretdb tool unavailable")

// Mongo is a FerretDB child process owned by a test: a server that speaks
// the MongoDB wire protocol and keeps its data in SQLite files in a
// temporary state directory, which survives Kill and Restart.
type Mongo struct {
	// URI is the connection string, "mongodb://127.0.0.1:<port>/".
	URI string
	// Addr is the TCP address, "127.0.0.1:<port>".
	Addr string

	bin  string
	port int
	daemon
}

// StartMongo starts a FerretDB for the test and stops it when the test
// ends, building the tool first if the cache does not hold it. When the
// tool cannot be built or started it skips the test, or fails it when the
// CI environment variable is set.
func StartMongo(tb testing.TB) *Mongo {
	tb.Helper()
	m, err := LaunchMongo()
	if err != nil {
		if InCI() {
			tb.Fatalf("start ferretdb: %v (CI is set)", err)
		}
		tb.Skipf("start ferretdb: %v", err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("stop ferretdb: %v", err)
		}
	})
	return m
}

// LaunchMongo starts a FerretDB and returns once it answers a ping. It is
// the variant of StartMongo for TestMain: the caller must call Close. An
// error wraps ErrNoFerretDB when the tool could not be built.
func LaunchMongo() (*Mongo, error) {
	bin, err := FerretDBBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mopush-ferretdb-")
	if err != nil {
		return nil, fmt.Errorf("make ferretdb dir: %w", err)
	}
	m := &Mongo{bin: bin}
	m.daemon = daemon{name: "ferretdb", dir: dir, stopTimeout: mongoStopTimeout, run: m.run}
	err = m.launch(mongoPortAttempts, func(port int) {
		m.port = port
		m.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		m.URI = "mongodb://" + m.Addr + "/"
	})
	if err != nil {
		os.RemoveAll(dir) //nolint:errcheck // best effort after a failed start
		return nil, err
	}
	return m, nil
}

// run starts the server on m.port and waits for a ping. m.mu is held.
func (m *Mongo) run() error {
	return m.spawn(m.bin, []string{"-listen", m.Addr, "-dir", m.dir, "-log-level", "warn"}, 16<<10, m.waitReady)
}

// waitReady pings the server through the driver until it answers, the
// process exits, or the start timeout passes.
func (m *Mongo) waitReady(p *process) error {
	client, err := mongo.Connect(options.Client().ApplyURI(m.URI).
		SetServerSelectionTimeout(time.Second).
		SetConnectTimeout(time.Second))
	if err != nil {
		return fmt.Errorf("ferretdb client: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		client.Disconnect(ctx) //nolint:errcheck // the probe client only pinged
	}()
	var lastErr error
	exited := false
	ready := Poll(mongoStartTimeout, func() bool {
		select {
		case <-p.done:
			exited = true
			return true
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		lastErr = client.Ping(ctx, readpref.Primary())
		return lastErr == nil
	})
	switch {
	case exited:
		output := p.out.String()
		if strings.Contains(output, "address already in use") {
			return fmt.Errorf("ferretdb on %s: %w", m.Addr, errAddrInUse)
		}
		return fmt.Errorf("ferretdb exited at start: %v; output: %s", p.err, output)
	case !ready:
		return fmt.Errorf("ferretdb on %s did not answer a ping within %s: %w; output: %s",
			m.Addr, mongoStartTimeout, lastErr, p.out)
	}
	return nil
}

// FerretDBBinary returns the path of the FerretDB tool built from
// tools/ferretdb, building it into the cache when the cache does not hold
// this version. Errors wrap ErrNoFerretDB.
func FerretDBBinary() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoFerretDB, err)
	}
	toolDir := filepath.Join(root, filepath.FromSlash(ferretdbToolDir))
	sum, err := toolHash(toolDir)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoFerretDB, err)
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoFerretDB, err)
	}
	cacheDir := filepath.Join(cacheRoot, "mopush-test")
	bin := filepath.Join(cacheDir, "ferretdb-"+sum)
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoFerretDB, err)
	}
	unlock, err := lockFile(filepath.Join(cacheDir, "ferretdb.lock"))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoFerretDB, err)
	}
	defer unlock()
	if isExecutable(bin) { // built by another test binary while we waited
		return bin, nil
	}
	if err := buildFerretDB(toolDir, bin); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoFerretDB, err)
	}
	return bin, nil
}

// buildFerretDB builds the tool in toolDir to a temporary name next to bin
// and renames it to bin.
func buildFerretDB(toolDir, bin string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	defer os.Remove(tmp) //nolint:errcheck // gone after the rename
	cmd := exec.Command(goBin, "build", "-C", toolDir, "-o", tmp, ".")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -C %s: %w\n%s", toolDir, err, out)
	}
	return os.Rename(tmp, bin)
}

// repoRoot walks up from the working directory to the directory whose
// go.mod declares mongoModule.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(b) == mongoModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", mongoModule)
		}
		dir = parent
	}
}

// modulePath returns the module path a go.mod declares, or "".
func modulePath(gomod []byte) string {
	for line := range strings.Lines(string(gomod)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok {
			if rest = strings.TrimSpace(rest); rest != "" {
				return strings.Trim(rest, `"`)
			}
		}
	}
	return ""
}

// toolHash returns a short hash of what decides the tool's binary.
func toolHash(toolDir string) (string, error) {
	sources, err := filepath.Glob(filepath.Join(toolDir, "*.go"))
	if err != nil {
		return "", err
	}
	names := []string{"go.mod", "go.sum"}
	for _, s := range sources {
		names = append(names, filepath.Base(s))
	}
	slices.Sort(names[2:])
	h := sha256.New()
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(toolDir, name))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// isExecutable reports whether path is a regular file with an execute bit.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
