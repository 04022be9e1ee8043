// Command ferretdb runs FerretDB v1.24 embedded, with its SQLite backend, as
// the MongoDB-compatible server of mopush's tests and of a laptop setup.
// No MongoDB server is packaged on the project's machines; FerretDB speaks
// the MongoDB wire protocol and keeps its data in SQLite files under -dir.
//
// It lives in a module of its own so that FerretDB's dependencies stay out
// of mopush's go.mod. Build it with:
//
//	go build -C tools/ferretdb -o /some/where/ferretdb
//
// Usage:
//
//	ferretdb -listen 127.0.0.1:27017 -dir /var/lib/ferretdb [-log-level info]
//	         [-debug-listen 127.0.0.1:6062] [-id-index-every 100ms]
//
// Besides running FerretDB, it gives each collection an index that
// FerretDB's lookups by _id can use (FerretDB 1.24's own _id index is on a
// different expression, so those lookups scan the table; see idindex.go).
//
// It logs to stderr and stops cleanly on SIGTERM or SIGINT: the listener
// closes, open connections end and the SQLite databases are closed. A second
// signal during that shutdown ends the process at once.
//
// Not supported by FerretDB 1.24 (and so not to be relied on by callers):
// TTL indexes, multi-document transactions and change streams.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	listen   string
	dir      string
	logLevel slog.Level
	debug    string
	idIndex  time.Duration
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("ferretdb", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:27017", "TCP `address` to listen on")
	fs.StringVar(&o.dir, "dir", "", "state `directory` that holds the SQLite databases (required)")
	fs.StringVar(&o.debug, "debug-listen", "", "TCP `address` of a pprof endpoint (/debug/pprof/); none when empty")
	fs.DurationVar(&o.idIndex, "id-index-every", 100*time.Millisecond,
		"shortest `interval` between looks for collections that lack the index lookups by _id use (see idindex.go); 0 turns it off")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.dir == "" {
		return o, errors.New("-dir is required")
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, nil
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.logLevel}))

	// The trailing slash tells FerretDB the URI names a directory.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: o.listen},
		Logger:    log,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}

	if o.debug != "" {
		ln, err := net.Listen("tcp", o.debug)
		if err != nil {
			return fmt.Errorf("debug listener: %w", err)
		}
		defer ln.Close()
		// The blank import of net/http/pprof registers its handlers on
		// http.DefaultServeMux.
		go func() { _ = http.Serve(ln, nil) }()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		// Restore the default action so that a second signal kills the
		// process if the shutdown hangs.
		stop()
	}()
	var indexer sync.WaitGroup
	defer indexer.Wait()
	if o.idIndex > 0 {
		x := newIDIndexer(dir, log)
		indexer.Go(func() { x.run(ctx, o.idIndex) })
	}
	log.Info("ferretdb listening", "uri", f.MongoDBURI(), "dir", dir)
	if err := f.Run(ctx); err != nil {
		stop()
		return fmt.Errorf("run: %w", err)
	}
	log.Info("ferretdb stopped")
	return nil
}
