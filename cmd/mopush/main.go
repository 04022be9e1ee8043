// Command mopush runs the push backbone and its tools. `mopush` (or `mopush
// all`) runs every role in one process with embedded NATS and an embedded
// store; `mopush help` lists the other commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mopush/mopush/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, stop))
}
