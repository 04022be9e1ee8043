package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// MaxDevicesPerProc is how many devices one worker process simulates by
// default: well below the 20,000 open files a process may hold here.
const MaxDevicesPerProc = 15000

// fdHeadroom is the open files a worker needs beside its device sockets.
const fdHeadroom = 256

// Scenarios returns the names of the scenarios, in the order of the help.
func Scenarios() []string { return []string{"idle", "unicast", "broadcast", "reconnect"} }

// Config configures a benchmark. Zero values mean the defaults given.
type Config struct {
	// Scenario is one of Scenarios(). Required.
	Scenario string
	// Server is the base URL of an existing server to load (http on
	// 127.0.0.0/8). Empty: spawn `mopush all` from Executable for each run,
	// on a free port of 127.0.0.1 with a fresh data directory.
	Server string
	// PID is the server's process for the /proc figures, with Server.
	// Default: the process listening on the server's port.
	PID int
	// Devices is how many devices to simulate. Default 1000.
	Devices int
	// Procs is how many worker processes share the devices. Default
	// ceil(Devices / MaxDevicesPerProc).
	Procs int
	// Runs is how many times the scenario runs; figures are the median.
	// Default 3.
	Runs int
	// JSON prints a JSON object after the result line.
	JSON bool
	// Duration is how long unicast sends at each rate and broadcast sends
	// in all. Default 5s.
	Duration time.Duration
	// Rate is the unicast rate in pushes/s; 0 searches for the highest
	// rate with p99 under 10 ms.
	Rate float64
	// Settle keeps counting the server's CPU this long after a unicast
	// step's last delivery, so that work a push leaves for later (the
	// fallback checks due after the ack timeout, store compactions) is in
	// cpu_us_per_push. Default 0: the CPU ends with the last delivery.
	Settle time.Duration
	// AdminToken creates the apps. Default: $MOPUSH_ADMIN_TOKEN, then the
	// spawned server's data directory.
	AdminToken string
	// SourceAddrs is how many source addresses (127.0.0.1 …) devices
	// rotate through. Default ceil(Devices / 5000), at most 254.
	SourceAddrs int
	// MaxBackoff caps the devices' reconnect delay. Default 5s.
	MaxBackoff time.Duration
	// Executable is the mopush binary for workers and spawned servers.
	// Default os.Executable().
	Executable string
	// WorkerCPUProfile, when set, has each worker process write a CPU
	// profile to this path with ".N" appended (N from 1).
	WorkerCPUProfile string
	// InProcess runs the workers as goroutines of this process instead of
	// processes (tests; small runs).
	InProcess bool
	// Stderr receives the workers' logs. Default os.Stderr.
	Stderr io.Writer
	// Logger receives progress; default: none.
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if !slices.Contains(Scenarios(), c.Scenario) {
		return fmt.Errorf("%w: unknown scenario %q (want %s)", ErrBadConfig, c.Scenario, strings.Join(Scenarios(), ", "))
	}
	c.Server = strings.TrimRight(c.Server, "/")
	if c.Server != "" {
		if _, err := serverPort(c.Server); err != nil {
			return err
		}
	}
	if c.Scenario == "reconnect" && c.Server != "" {
		return fmt.Errorf("%w: reconnect kills and restarts the server, so it needs --spawn, not --server", ErrBadConfig)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Devices, 1000)
	def(&c.Procs, ceilDiv(c.Devices, MaxDevicesPerProc))
	def(&c.Runs, 3)
	def(&c.SourceAddrs, ceilDiv(c.Devices, 5000))
	c.Procs = min(c.Procs, c.Devices)
	c.SourceAddrs = min(c.SourceAddrs, MaxSourceAddrs)
	if c.Devices > 1_000_000 || c.Runs > 100 {
		return fmt.Errorf("%w: at most 1,000,000 devices and 100 runs", ErrBadConfig)
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Duration > 10*time.Minute || c.Rate < 0 || c.Rate > 1e6 {
		return fmt.Errorf("%w: duration at most 10m, rate between 0 and 1,000,000", ErrBadConfig)
	}
	if c.Settle < 0 || c.Settle > 10*time.Minute {
		return fmt.Errorf("%w: settle between 0 and 10m", ErrBadConfig)
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Executable == "" && (!c.InProcess || c.Server == "") {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the mopush binary: %w", err)
		}
		c.Executable = exe
	}
	return c.checkFileLimit()
}

// checkFileLimit raises this process's open-file limit and refuses a
// split that would need more sockets in one process than it allows.
func (c *Config) checkFileLimit() error {
	limit, err := RaiseFileLimit()
	if err != nil {
		return err
	}
	perProc := ceilDiv(c.Devices, c.Procs)
	if c.InProcess {
		perProc = c.Devices
	}
	if need := uint64(perProc + fdHeadroom); need > limit {
		return fmt.Errorf("%w: %d devices in one process need about %d open files, over its limit of %d (RLIMIT_NOFILE); use --procs %d or more",
			ErrBadConfig, perProc, need, limit, ceilDiv(c.Devices, max(1, int(limit)-fdHeadroom)))
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / max(b, 1) }

// split shares n devices among k workers as evenly as possible.
func split(n, k int) []int {
	out := make([]int, k)
	for i := range out {
		out[i] = n / k
		if i < n%k {
			out[i]++
		}
	}
	return out
}

// Run runs the scenario cfg.Runs times, prints the summary line (and the
// JSON object with cfg.JSON) to out, and returns the summary.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	if err := cfg.setDefaults(); err != nil {
		return Summary{}, err
	}
	sum := Summary{Scenario: cfg.Scenario, Params: cfg.params(), Notes: notes(cfg)}
	for i := range cfg.Runs {
		cfg.Logger.InfoContext(ctx, "bench run starting", "scenario", cfg.Scenario, "run", i+1, "runs", cfg.Runs, "devices", cfg.Devices)
		figs, err := runOnce(ctx, cfg, i)
		if err != nil {
			return sum, fmt.Errorf("%s run %d: %w", cfg.Scenario, i+1, err)
		}
		cfg.Logger.InfoContext(ctx, "bench run done", "scenario", cfg.Scenario, "run", i+1, "figures", Summary{Scenario: cfg.Scenario, Runs: []Figures{figs}}.Line())
		sum.Runs = append(sum.Runs, figs)
	}
	fmt.Fprintln(out, sum.Line())
	if cfg.JSON {
		b, err := json.Marshal(sum)
		if err != nil {
			return sum, err
		}
		fmt.Fprintln(out, string(b))
	}
	return sum, nil
}

// params are the settings printed before the figures.
func (c Config) params() []Param {
	p := []Param{{"devices", c.Devices}, {"procs", c.Procs}}
	switch c.Scenario {
	case "unicast":
		rate := any("search")
		if c.Rate > 0 {
			rate = c.Rate
		}
		p = append(p, Param{"rate", rate}, Param{"duration", c.Duration.String()})
		if c.Settle > 0 {
			p = append(p, Param{"settle", c.Settle.String()})
		}
	case "broadcast":
		p = append(p, Param{"duration", c.Duration.String()})
	}
	return p
}

// env is what a scenario works with during one run.
type env struct {
	cfg  Config
	t    *target
	api  api
	pool *pool
	ids  []string
	hc   *http.Client // metrics and readiness
	log  *slog.Logger
}

// runOnce sets up the server, the app and the workers, registers the
// devices, and runs the scenario once.
func runOnce(ctx context.Context, cfg Config, run int) (Figures, error) {
	cleanup := context.WithoutCancel(ctx)
	t, err := openTarget(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer t.close(cleanup)
	if limit, err := ReadFileLimit(t.pid); err == nil && uint64(cfg.Devices+fdHeadroom) > limit {
		return nil, fmt.Errorf("%w: the server process may hold %d open files, too few for %d devices; one server process tops out below its limit",
			ErrBadConfig, limit, cfg.Devices)
	}
	hc := newHTTPClient(senders)
	defer hc.CloseIdleConnections()
	a, err := createApp(ctx, hc, t.url, t.admin, fmt.Sprintf("bench-%s-%d", cfg.Scenario, run+1))
	if err != nil {
		return nil, err
	}
	p, err := startPool(ctx, cfg, a.key, t.url, split(cfg.Devices, cfg.Procs))
	if err != nil {
		return nil, err
	}
	defer p.close(cleanup)
	reps, err := p.call(ctx, command{Cmd: cmdRegister}, fleetTimeout(cfg.Devices))
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, t: t, api: a, pool: p, hc: hc, log: cfg.Logger}
	for _, r := range reps {
		e.ids = append(e.ids, r.IDs...)
	}
	if len(e.ids) != cfg.Devices {
		return nil, fmt.Errorf("registered %d devices, want %d", len(e.ids), cfg.Devices)
	}
	switch cfg.Scenario {
	case "idle":
		return e.idle(ctx)
	case "unicast":
		return e.unicast(ctx)
	case "broadcast":
		return e.broadcast(ctx)
	default:
		return e.reconnect(ctx)
	}
}

// fleetTimeout bounds registering or connecting n devices: a minute plus
// 5 ms per device.
func fleetTimeout(n int) time.Duration { return time.Minute + time.Duration(n)*5*time.Millisecond }
