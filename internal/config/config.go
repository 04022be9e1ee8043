// Package config loads the TOML configuration of mopush. Every field has a
// default that works on one machine; a file overrides defaults, and
// environment variables override the file: MOPUSH_<SECTION>_<FIELD> in upper
// case (e.g. MOPUSH_SERVER_LISTEN, MOPUSH_GATEWAY_MAX_TARGETS).
package config

import (
	"fmt"
	"os"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/mopush/mopush/connector"
	"github.com/mopush/mopush/gateway"
	"github.com/mopush/mopush/internal/bus"
	"github.com/mopush/mopush/portal"
	"github.com/mopush/mopush/relay/vendors"
	"github.com/mopush/mopush/taskcontainer"
)

// Config is the whole configuration.
type Config struct {
	Server  Server         `toml:"server"`
	Bus     bus.Config     `toml:"bus"`
	Store   Store          `toml:"store"`
	Gateway gateway.Config `toml:"gateway"`
	Portal  portal.Config  `toml:"portal"`
	// Campaigns tunes the campaign runner of the nodes that run the
	// gateway.
	Campaigns taskcontainer.Config `toml:"campaigns"`
	Connector connector.Config     `toml:"connector"`
	Relay     Relay                `toml:"relay"`
	Log       Log                  `toml:"log"`
}

// Relay configures the vendor relay.
type Relay struct {
	// Disabled turns the relay off: offline devices then get their pushes
	// only when they reconnect. Default false.
	Disabled bool `toml:"disabled"`
	// CredentialsKey seals vendor credentials at rest: 32 bytes in base64.
	// Empty: a key generated at first start in <data_dir>/credentials.key.
	CredentialsKey string `toml:"credentials_key"`
	// AckTimeout is how long a live device has to acknowledge before its
	// push goes through its vendor; apps may set their own. Default 10s.
	AckTimeout time.Duration `toml:"ack_timeout"`
	// BatchWindow is how long the gateway holds a fallback check so that
	// the checks of pushes routed at about the same time share one queue
	// message. It delays the relay of offline devices by at most this
	// much, and never the delivery to live ones. Default 20ms; negative:
	// every push queues its checks at once.
	BatchWindow time.Duration `toml:"batch_window"`
	// Workers is how many relay jobs run at once. Default 64.
	Workers int `toml:"workers"`
	// PerCredential bounds concurrent sends per app and vendor. Default 16.
	PerCredential int `toml:"per_credential"`
	// MaxAttempts bounds retries of one send. Default 8.
	MaxAttempts int `toml:"max_attempts"`
	// Endpoints overrides vendor URLs by vendor name (base, token); default:
	// the vendors' public endpoints.
	Endpoints map[string]vendors.Endpoint `toml:"endpoints"`
	// AllowedHosts lets WNS channel URIs and Web Push endpoints name other
	// hosts than the vendors'. Default none.
	AllowedHosts []string `toml:"allowed_hosts"`
}

// Server holds the listener and data settings of a node.
type Server struct {
	// Listen is the address of the public API, the WebSocket endpoint, the
	// dispatcher and /metrics. Default "127.0.0.1:8080".
	Listen string `toml:"listen"`
	// PublicURL is how devices and backends reach Listen. Default
	// "http://" + Listen.
	PublicURL string `toml:"public_url"`
	// DataDir holds the embedded store, the embedded NATS data and the
	// generated admin token. Default "./data".
	DataDir string `toml:"data_dir"`
	// InternalToken authenticates calls between roles (gateway to
	// connector). Every node of a cluster must share it. Default: random
	// per process, which only a single process can use.
	InternalToken string `toml:"internal_token"`
	// DebugListen serves pprof when set, e.g. "127.0.0.1:6060". Default "".
	DebugListen string `toml:"debug_listen"`
	// ShutdownGrace bounds how long HTTP listeners wait for requests in
	// flight on shutdown. Default 15s.
	ShutdownGrace Duration `toml:"shutdown_grace"`
}

// Store selects the data layer.
type Store struct {
	// Backend is "pebble" (embedded, the default) or "cluster": business
	// data in MongoDB, device state tiered over an in-process cache, Redis
	// shards and Aerospike (or MongoDB), streams in Aerospike (or Redis).
	Backend string `toml:"backend"`
	// Mongo is the MongoDB connection string (cluster; required).
	Mongo string `toml:"mongo"`
	// Redis lists the Redis shards, "host:port" each (cluster; required).
	// In the environment: comma-separated.
	Redis []string `toml:"redis"`
	// Aerospike lists seed nodes, "host:port" (cluster; optional). Without
	// it, streams live in Redis and device state's system of record is
	// MongoDB.
	Aerospike []string `toml:"aerospike"`
	// AerospikeNamespace is the namespace used. Default "mopush".
	AerospikeNamespace string `toml:"aerospike_namespace"`
	// CacheBytes caps the in-process device cache (cluster), bytes.
	// Default 64 MiB.
	CacheBytes int64 `toml:"cache_bytes"`
	// MaxStreamLen is how many messages each device stream retains.
	// Default 1000.
	MaxStreamLen int `toml:"max_stream_len"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default "info".
	Level string `toml:"level"`
	// Format is "text" or "json". Default "text".
	Format string `toml:"format"`
}

// Duration is a time.Duration written as a string ("15s") in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a duration such as "15s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Default returns the configuration with every default applied.
func Default() Config {
	c := Config{}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if c.Server.Listen == "" {
		c.Server.Listen = "127.0.0.1:8080"
	}
	if c.Server.DataDir == "" {
		c.Server.DataDir = "./data"
	}
	if c.Server.ShutdownGrace.Duration <= 0 {
		c.Server.ShutdownGrace.Duration = 15 * time.Second
	}
	if c.Store.Backend == "" {
		c.Store.Backend = "pebble"
	}
	if c.Relay.AckTimeout <= 0 {
		c.Relay.AckTimeout = 10 * time.Second
	}
	if c.Relay.BatchWindow == 0 {
		c.Relay.BatchWindow = 20 * time.Millisecond
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
}

// Load reads path (empty: defaults only), applies environment overrides
// from env (usually os.Environ()), then defaults.
func Load(path string, env []string) (Config, error) {
	var c Config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		md, err := toml.Decode(string(b), &c)
		if err != nil {
			return c, fmt.Errorf("parse config %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return c, fmt.Errorf("config %s: unknown keys %v", path, und)
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return c, err
	}
	c.applyDefaults()
	return c, nil
}
