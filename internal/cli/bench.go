package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/bench"
	"github.com/mopush/mopush/internal/obs"
)

const benchUsage = `usage: mopush bench SCENARIO [flags]

scenarios:
  idle       connect the devices; server RSS and goroutines per connection, handshakes/s
  unicast    REST pushes to random devices; latency p50/p99/p999, highest rate with p99 < 10 ms
  broadcast  app-wide pushes; delivered messages/s, server CPU per message, latency
  reconnect  kill and restart the server; time until every device is back and caught up

flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "worker" {
		return runBenchWorker(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	var cfg bench.Config
	spawn := fs.Bool("spawn", false, "start mopush all from this binary on a free 127.0.0.1 port for each run (the default without --server)")
	fs.StringVar(&cfg.Server, "server", "", "base URL of an existing server on 127.0.0.0/8, e.g. http://127.0.0.1:8080")
	fs.IntVar(&cfg.PID, "pid", 0, "process id of --server, for its /proc figures (default: the process listening on its port)")
	fs.IntVar(&cfg.Devices, "devices", 1000, "devices to simulate")
	fs.IntVar(&cfg.Procs, "procs", 0, fmt.Sprintf("worker processes sharing the devices (default ceil(devices/%d))", bench.MaxDevicesPerProc))
	fs.IntVar(&cfg.Runs, "runs", 3, "runs of the scenario; figures are the median and range")
	fs.BoolVar(&cfg.JSON, "json", false, "print a JSON object per scenario after the result line")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "unicast: sending time per rate; broadcast: sending time")
	fs.Float64Var(&cfg.Rate, "rate", 0, "unicast pushes/s (0: search for the highest rate with p99 < 10 ms)")
	fs.DurationVar(&cfg.Settle, "settle", 0, "unicast: keep counting the server's CPU this long after the last delivery (work a push leaves for later, e.g. fallback checks due after the ack timeout)")
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "admin token (default: $MOPUSH_ADMIN_TOKEN, then the spawned server's data dir)")
	fs.IntVar(&cfg.SourceAddrs, "source-addrs", 0, "source addresses 127.0.0.1…127.0.0.K devices rotate through (default ceil(devices/5000))")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (the REST client and the coordination, not the workers) to the file")
	fs.StringVar(&cfg.WorkerCPUProfile, "worker-cpuprofile", "", "have each worker process write a CPU profile (the simulated devices) to this path with .N appended")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs.Usage()
		return errUsage
	}
	cfg.Scenario = args[0]
	if fs.Parse(args[1:]) != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mopush bench: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if *spawn && cfg.Server != "" {
		fmt.Fprintln(stderr, "mopush bench: --spawn and --server exclude each other")
		return errUsage
	}
	log, err := obs.NewLogger(stderr, "info", "text")
	if err != nil {
		return err
	}
	cfg.Logger, cfg.Stderr = log.With("component", "bench"), stderr
	stop, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	_, err = bench.Run(ctx, cfg, stdout)
	return err
}

// startCPUProfile profiles this process into path until stop is called;
// an empty path profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// runBenchWorker is the hidden `mopush bench worker` that simulates a share
// of the devices for `mopush bench`, speaking JSON on stdin and stdout.
func runBenchWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.WorkerConfig
	fs.StringVar(&cfg.Server, "server", "", "base URL of the server")
	fs.StringVar(&cfg.AppKey, "app-key", "", "app key the devices register with")
	fs.IntVar(&cfg.Devices, "devices", 0, "devices to simulate")
	fs.IntVar(&cfg.FirstIndex, "first", 0, "global index of the first device")
	fs.IntVar(&cfg.SourceAddrs, "source-addrs", 1, "source addresses to rotate through")
	fs.DurationVar(&cfg.MaxBackoff, "max-backoff", 0, "cap of the reconnect delay")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of this worker to the file")
	if fs.Parse(args) != nil {
		return errUsage
	}
	stop, err := startCPUProfile(cfg.CPUProfile)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := bench.RaiseFileLimit(); err != nil {
		return err
	}
	log, err := obs.NewLogger(stderr, "warn", "text")
	if err != nil {
		return err
	}
	cfg.Logger = log.With("component", "bench-worker")
	return bench.RunWorker(ctx, cfg, os.Stdin, stdout)
}
