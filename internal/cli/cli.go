// Package cli implements the mopush command line: `all` runs the backbone,
// `app create` and `device run` are the quick-start tools.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/mopush/mopush/internal/node"
)

const usage = `usage: mopush [command] [flags]

commands:
  all            run every role in one process (the default)
  gateway        run the REST API, the portal and routing (with /v1/dispatch) against shared clusters
  connector      run a connector (device sessions) against shared clusters
  relay          run the vendor relay workers against shared clusters
  dispatcher     run /v1/dispatch alone
  app create     create an app through the admin API
  user create    add a portal user (the first admin) through the admin API
  bench          load-test a server: idle, unicast, broadcast, reconnect
  device run     run a device: register, connect, print pushes as JSON lines
  help           show this help

Run "mopush COMMAND -h" for the flags of a command.
`

// cmd is one command of the command line.
type cmd struct {
	run func(ctx context.Context, args []string, stdout, stderr io.Writer, stop func()) error
	// long marks a command that serves or loads for a long time (the
	// roles, bench, device run): it starts with the runtime setting of
	// internal/runtimetune.
	long bool
}

// commands are the command line's commands by name.
var commands = map[string]cmd{
	"all":        {run: roles(node.Roles{}), long: true},
	"gateway":    {run: roles(node.Roles{Gateway: true}), long: true},
	"connector":  {run: roles(node.Roles{Connector: true}), long: true},
	"relay":      {run: roles(node.Roles{Relay: true}), long: true},
	"dispatcher": {run: roles(node.Roles{Dispatcher: true}), long: true},
	"app": {run: func(ctx context.Context, args []string, stdout, stderr io.Writer, _ func()) error {
		return runApp(ctx, args, stdout, stderr)
	}},
	"user": {run: func(ctx context.Context, args []string, stdout, stderr io.Writer, _ func()) error {
		return runUser(ctx, args, os.Stdin, stdout, stderr)
	}},
	"bench": {run: func(ctx context.Context, args []string, stdout, stderr io.Writer, _ func()) error {
		return runBench(ctx, args, stdout, stderr)
	}, long: true},
	"device": {run: func(ctx context.Context, args []string, stdout, stderr io.Writer, _ func()) error {
		return runDevice(ctx, args, stdout, stderr)
	}, long: true},
	"help": {run: func(_ context.Context, _ []string, stdout, _ io.Writer, _ func()) error {
		fmt.Fprint(stdout, usage)
		return nil
	}},
}

// roles runs the given roles in one process.
func roles(r node.Roles) func(ctx context.Context, args []string, stdout, stderr io.Writer, stop func()) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer, stop func()) error {
		return runAll(ctx, r, args, stdout, stderr, stop)
	}
}

// LongRunning reports whether args (without the program name) run a
// command that serves or loads for a long time.
func LongRunning(args []string) bool {
	return commands[command(args)].long
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
	name := command(args)
	if len(args) > 0 && args[0] == name {
		args = args[1:]
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "mopush: unknown command %q\n\n%s", name, usage)
		return 2
	}
	if err := c.run(ctx, args, stdout, stderr, stop); err != nil {
		if err != errUsage {
			fmt.Fprintf(stderr, "mopush: %v\n", err)
		}
		return 1
	}
	return 0
}

// errUsage means the flag package already printed the problem.
var errUsage = fmt.Errorf("usage")
