// Package bus connects roles to NATS with JetStream: an embedded server in
// the process (the default for `mopush all` and for tests) or a remote
// cluster by URL.
package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config selects and tunes the bus.
type Config struct {
	// URL of a NATS cluster; empty starts an embedded server.
	URL string `toml:"url"`
	// Dir is where the embedded server keeps JetStream data; empty keeps it
	// in memory-backed temp storage of the server's choosing. Default "".
	Dir string `toml:"dir"`
	// Listen exposes the embedded server on this host:port (e.g.
	// "127.0.0.1:4222") so that other processes can join; empty: in-process
	// only. Use "127.0.0.1:-1" for a random port.
	Listen string `toml:"listen"`
	// Name is the client connection name. Default "mopush".
	Name string `toml:"name"`
	// Sync is when the embedded server's JetStream writes reach the disk:
	// "always" (the default) syncs each one before the publisher gets its
	// acknowledgement, so that a fallback check the gateway stored before
	// it marked a push done survives a power cut with the store's own
	// synced writes; a duration ("2m" is the NATS server's own default)
	// syncs that often, and a power cut can lose what was written since.
	Sync string `toml:"sync"`
}

// ErrBadSync means Config.Sync is neither "always" nor a duration.
var ErrBadSync = errors.New(`bus: sync must be "always" or a duration such as "2m"`)

// syncPolicy returns the embedded server's sync settings for cfg.Sync.
func syncPolicy(sync string) (always bool, every time.Duration, err error) {
	if sync == "" || sync == "always" {
		return true, 0, nil
	}
	every, err = time.ParseDuration(sync)
	if err != nil || every <= 0 {
		return false, 0, fmt.Errorf("%w: %q", ErrBadSync, sync)
	}
	return false, every, nil
}

// Bus is a NATS connection with its JetStream context, and the embedded
// server when there is one.
type Bus struct {
	Conn *nats.Conn
	JS   jetstream.JetStream
	srv  *server.Server
}

// ErrStart means the embedded server did not start.
var ErrStart = errors.New("bus: embedded NATS did not start")

// Open connects to cfg.URL, or starts an embedded server with JetStream
// and connects to it in process.
func Open(cfg Config, log *slog.Logger) (*Bus, error) {
	if cfg.Name == "" {
		cfg.Name = "mopush"
	}
	opts := []nats.Option{nats.Name(cfg.Name), nats.MaxReconnects(-1)}
	if cfg.URL != "" {
		nc, err := nats.Connect(cfg.URL, append(opts, nats.Timeout(5*time.Second))...)
		if err != nil {
			return nil, fmt.Errorf("connect to NATS %s: %w", cfg.URL, err)
		}
		return newBus(nc, nil)
	}
	srv, err := startEmbedded(cfg)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect("", append(opts, nats.InProcessServer(srv))...)
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("connect to embedded NATS: %w", err)
	}
	return newBus(nc, srv)
}

func startEmbedded(cfg Config) (*server.Server, error) {
	always, every, err := syncPolicy(cfg.Sync)
	if err != nil {
		return nil, err
	}
	o := &server.Options{
		ServerName:   "mopush-embedded",
		JetStream:    true,
		StoreDir:     cfg.Dir,
		DontListen:   cfg.Listen == "",
		NoSigs:       true,
		NoLog:        true,
		SyncAlways:   always,
		SyncInterval: every,
	}
	if cfg.Listen != "" {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, err
		}
		o.Host, o.Port = host, port
	}
	srv, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("%w: not ready after 10s", ErrStart)
	}
	return srv, nil
}

func newBus(nc *nats.Conn, srv *server.Server) (*Bus, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		if srv != nil {
			srv.Shutdown()
		}
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Bus{Conn: nc, JS: js, srv: srv}, nil
}

// ClientURL is the URL other processes use to reach the embedded server, or
// "" when it does not listen or the bus is remote.
func (b *Bus) ClientURL() string {
	if b.srv == nil || b.srv.Addr() == nil {
		return ""
	}
	return b.srv.ClientURL()
}

// Close flushes what was published (acks included), closes the
// connection and stops the embedded server.
func (b *Bus) Close() {
	if b.Conn != nil {
		b.Conn.FlushTimeout(5 * time.Second) //nolint:errcheck // closing anyway
		b.Conn.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}
