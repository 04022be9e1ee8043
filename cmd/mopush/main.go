// Command mopush runs the push backbone and its tools. `mopush` (or `mopush
// all`) runs every role in one process with embedded NATS and an embedded
// store; `mopush help` lists the other commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mopush/mopush/internal/cli"
	"github.com/mopush/mopush/internal/runtimetune"
)

func main() {
	if cli.LongRunning(os.Args[1:]) {
		// Returns only when the process runs with the setting already,
		// or cannot be replaced.
		if err := runtimetune.Reexec(); err != nil {
			fmt.Fprintf(os.Stderr, "mopush: %v; running without %s\n", err, runtimetune.Setting)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, stop))
}
