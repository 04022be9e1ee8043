package connector

import (
	"time"

	"github.com/mopush/mopush/sdkproto"
)

// Config tunes a connector. Zero values mean the defaults given.
type Config struct {
	// NodeID names this connector on the ring. Default "connector-1". A
	// node running several connectors uses it as a prefix: <node_id>-1,
	// <node_id>-2, … (default prefix "connector").
	NodeID string `toml:"node_id"`
	// HandshakeTimeout bounds the handshake. Default 10s.
	HandshakeTimeout time.Duration `toml:"handshake_timeout"`
	// Heartbeat is the interval clients ping at; a session silent for two
	// intervals is closed. Default 25s.
	Heartbeat time.Duration `toml:"heartbeat"`
	// SendQueue is how many frames a session may have queued. Default 256.
	SendQueue int `toml:"send_queue"`
	// MaxFrame is the largest sealed frame accepted, bytes. Default 64 KiB.
	MaxFrame int `toml:"max_frame"`
	// SyncPage is how many messages one replay page carries. Default 100.
	SyncPage int `toml:"sync_page"`
	// WriteTimeout bounds one socket write. Default 10s.
	WriteTimeout time.Duration `toml:"write_timeout"`
	// Shards is the number of hub shards. Default 64.
	Shards int `toml:"shards"`
	// DrainDelay and DrainJitter pace the redirects sent on shutdown:
	// devices wait delay plus a random share of jitter before reconnecting.
	// Defaults 0 and 5s.
	DrainDelay  time.Duration `toml:"drain_delay"`
	DrainJitter time.Duration `toml:"drain_jitter"`
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(i *int, v int) {
		if *i <= 0 {
			*i = v
		}
	}
	if c.NodeID == "" {
		c.NodeID = "connector-1"
	}
	def(&c.HandshakeTimeout, 10*time.Second)
	def(&c.Heartbeat, 25*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.DrainJitter, 5*time.Second)
	c.DrainDelay = max(c.DrainDelay, 0)
	defInt(&c.SendQueue, 256)
	defInt(&c.MaxFrame, sdkproto.DefaultMaxFrame)
	defInt(&c.SyncPage, 100)
	defInt(&c.Shards, 64)
}
