// Package cli implements the mopush command line: `all` runs the backbone,
// `app create` and `device run` are the quick-start tools.
package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/mopush/mopush/internal/node"
)

const usage = `usage: mopush [command] [flags]

commands:
  all            run every role in one process (the default)
  gateway        run the REST API and routing (with /v1/dispatch) against shared clusters
  connector      run a connector (device sessions) against shared clusters
  relay          run the vendor relay workers against shared clusters
  dispatcher     run /v1/dispatch alone
  app create     create an app through the admin API
  bench          load-test a server: idle, unicast, broadcast, reconnect
  device run     run a device: register, connect, print pushes as JSON lines
  help           show this help

Run "mopush COMMAND -h" for the flags of a command.
`

// LongRunning reports whether args (without the program name) run a
// command that serves or loads for a long time: the roles, bench and
// device run. Those start with the runtime setting of
// internal/runtimetune; app and help do not need it.
func LongRunning(args []string) bool {
	switch command(args) {
	case "all", "gateway", "connector", "relay", "dispatcher", "bench", "device":
		return true
	}
	return false
}

// command returns the name of the command args run: the first argument
// unless it is a flag, else "all".
func command(args []string) string {
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		return args[0]
	}
	return "all"
}

// Main runs the command line and returns the exit status. stop, when the
// first signal arrived, restores default signal handling so that a second
// signal kills the process.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, stop func()) int {
	cmd := command(args)
	if len(args) > 0 && args[0] == cmd {
		args = args[1:]
	}
	var err error
	switch cmd {
	case "all":
		err = runAll(ctx, node.Roles{}, args, stdout, stderr, stop)
	case "gateway":
		err = runAll(ctx, node.Roles{Gateway: true}, args, stdout, stderr, stop)
	case "connector":
		err = runAll(ctx, node.Roles{Connector: true}, args, stdout, stderr, stop)
	case "relay":
		err = runAll(ctx, node.Roles{Relay: true}, args, stdout, stderr, stop)
	case "dispatcher":
		err = runAll(ctx, node.Roles{Dispatcher: true}, args, stdout, stderr, stop)
	case "app":
		err = runApp(ctx, args, stdout, stderr)
	case "bench":
		err = runBench(ctx, args, stdout, stderr)
	case "device":
		err = runDevice(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "mopush: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if err != errUsage {
			fmt.Fprintf(stderr, "mopush: %v\n", err)
		}
		return 1
	}
	return 0
}

// errUsage means the flag package already printed the problem.
var errUsage = fmt.Errorf("usage")
