package portal

import "time"

// Config tunes the portal. Zero values mean the defaults given.
type Config struct {
	// SessionKey signs session cookies; at least 32 bytes. Every portal of
	// a cluster needs the same key for a session to work on all of them.
	// Empty: a node uses the key it keeps in <data_dir>/portal.key
	// (generated at first start).
	SessionKey string `toml:"session_key"`
	// SessionTTL is how long a sign-in lasts. Default 12h.
	SessionTTL time.Duration `toml:"session_ttl"`
	// GatewayURL is where the portal reaches the gateway's REST API.
	// Empty: the node's own listener.
	GatewayURL string `toml:"gateway_url"`
	// SecureCookie marks the session cookie Secure (sent over HTTPS only).
	// Set it when the portal is served through TLS. Default false.
	SecureCookie bool `toml:"secure_cookie"`
	// BcryptCost is the cost of new password hashes. Default 12.
	BcryptCost int `toml:"bcrypt_cost"`
	// LoginBurst sign-in attempts are allowed from one address at once,
	// then one per LoginInterval. Defaults 10 and 6s.
	LoginBurst    int           `toml:"login_burst"`
	LoginInterval time.Duration `toml:"login_interval"`
}

func (c *Config) setDefaults() {
	if c.SessionTTL <= 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.BcryptCost <= 0 {
		c.BcryptCost = 12
	}
	if c.LoginBurst <= 0 {
		c.LoginBurst = 10
	}
	if c.LoginInterval <= 0 {
		c.LoginInterval = 6 * time.Second
	}
}
