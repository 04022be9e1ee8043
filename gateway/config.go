package gateway

import "time"

// Config tunes the gateway. Zero values mean the defaults given.
type Config struct {
	// AdminToken authorises the admin API (Bearer). Empty: a node uses the
	// token it keeps in <data_dir>/admin.token (generated at first start);
	// a gateway built without one refuses every admin call.
	AdminToken string `toml:"admin_token"`
	// MaxNotificationBytes bounds the JSON encoding of a notification.
	// Default 4096.
	MaxNotificationBytes int `toml:"max_notification_bytes"`
	// MaxTargets bounds the devices of one inline push. Default 1000.
	MaxTargets int `toml:"max_targets"`
	// MaxBodyBytes bounds a request body. Default 256 KiB.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// DefaultTTL is a push's time to live when the request gives none.
	// Default 72h; MaxTTL caps it. Default 28 days.
	DefaultTTL time.Duration `toml:"default_ttl"`
	MaxTTL     time.Duration `toml:"max_ttl"`
	// RouteTimeout bounds the delivery of one push to its connectors.
	// Default 30s.
	RouteTimeout time.Duration `toml:"route_timeout"`
	// ResumeInterval is how often pushes still pending (a full routing
	// queue, a failed relay hand-off) are routed again. Default 30s.
	ResumeInterval time.Duration `toml:"resume_interval"`
	// AppCacheTTL is how long an app read by its key (every push and
	// registration authenticates with one) is reused before it is read
	// again; a change made through another node is seen within it.
	// Default 5s; a negative value reads the app on every request.
	AppCacheTTL time.Duration `toml:"app_cache_ttl"`
	// ScheduleInterval is how often the gateway looks for scheduled pushes
	// whose send time came. Default 1s: a scheduled push is routed at most
	// about that long after its send_at.
	ScheduleInterval time.Duration `toml:"schedule_interval"`
	// MaxScheduleAhead bounds how far ahead send_at may be. Default 30 days.
	MaxScheduleAhead time.Duration `toml:"max_schedule_ahead"`
}

func (c *Config) setDefaults() {
	if c.MaxNotificationBytes <= 0 {
		c.MaxNotificationBytes = 4096
	}
	if c.MaxTargets <= 0 {
		c.MaxTargets = 1000
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 256 << 10
	}
	if c.DefaultTTL <= 0 {
		c.DefaultTTL = 72 * time.Hour
	}
	if c.MaxTTL <= 0 {
		c.MaxTTL = 28 * 24 * time.Hour
	}
	c.DefaultTTL = min(c.DefaultTTL, c.MaxTTL)
	if c.ResumeInterval <= 0 {
		c.ResumeInterval = 30 * time.Second
	}
	if c.RouteTimeout <= 0 {
		c.RouteTimeout = 30 * time.Second
	}
	if c.ScheduleInterval <= 0 {
		c.ScheduleInterval = time.Second
	}
	if c.MaxScheduleAhead <= 0 {
		c.MaxScheduleAhead = 30 * 24 * time.Hour
	}
	if c.AppCacheTTL == 0 {
		c.AppCacheTTL = 5 * time.Second
	}
}
