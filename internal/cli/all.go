package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/node"
	"github.com/mopush/mopush/internal/obs"
)

func runAll(ctx context.Context, roles node.Roles, args []string, stdout, stderr io.Writer, stop func()) error {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "TOML configuration file (optional)")
	listen := fs.String("listen", "", "address of the API and the device WebSocket (default 127.0.0.1:8080)")
	data := fs.String("data", "", "data directory (default ./data)")
	if fs.Parse(args) != nil {
		return errUsage
	}
	cfg, err := config.Load(*cfgPath, os.Environ())
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	if *data != "" {
		cfg.Server.DataDir = *data
	}
	if tok := os.Getenv("MOPUSH_ADMIN_TOKEN"); tok != "" && cfg.Gateway.AdminToken == "" {
		cfg.Gateway.AdminToken = tok // the same variable `mopush app create` reads
	}
	log, err := obs.NewLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	n, err := node.New(cfg, node.Options{Roles: roles, Logger: log, Registry: obs.NewRegistry()})
	if err != nil {
		return err
	}
	if roles.All() {
		printBanner(stdout, n, cfg)
	} else {
		fmt.Fprintf(stdout, "mopush %s is running at %s\n", roleNames(roles), n.URL())
	}
	if cfg.Server.DebugListen != "" {
		go serveDebug(ctx, cfg.Server.DebugListen)
	}
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process
	}()
	return n.Run(ctx)
}

func roleNames(r node.Roles) string {
	var names []string
	for _, x := range []struct {
		on   bool
		name string
	}{{r.Gateway, "gateway"}, {r.Connector, "connector"}, {r.Relay, "relay"}, {r.Dispatcher, "dispatcher"}} {
		if x.on {
			names = append(names, x.name)
		}
	}
	return strings.Join(names, "+")
}

func printBanner(w io.Writer, n *node.Node, cfg config.Config) {
	url := n.URL()
	fmt.Fprintf(w, `mopush is running (every role in one process)
  API:        %[1]s/v1  (pushes, devices, apps)
  WebSocket:  %[2]s/v1/connect  (devices find it via %[1]s/v1/dispatch)
  portal:     %[1]s/portal/  (add its first admin: mopush user create --email you@example.com --role admin)
  metrics:    %[1]s/metrics
  data:       %[3]s
  admin token: in %[4]s (or set MOPUSH_ADMIN_TOKEN)

create an app:
  mopush app create --name demo --server %[1]s
`, url, "ws"+url[len("http"):], cfg.Server.DataDir, node.AdminTokenPath(cfg.Server.DataDir))
}

func serveDebug(ctx context.Context, addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := httpx.NewServer(mux)
	srv.Addr = addr
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	srv.ListenAndServe() //nolint:errcheck // debug only
}
