// Package relay delivers pushes to devices that are offline, through their
// vendor channel (APNs, FCM, HMS, Xiaomi, OPPO, vivo, Honor, WNS, Web Push).
// Each vendor is a subpackage implementing Sender; this package owns the
// message type and the typed errors every sender returns.
package relay

import (
	"context"
	"time"
)

// Message is one notification for one device through its vendor.
type Message struct {
	PushID   string
	DeviceID string
	// Token is the vendor's push token (APNs device token, FCM registration
	// token, Web Push subscription JSON, WNS channel URI, ...).
	Token string
	Title string
	Body  string
	Data  map[string]string
	// CollapseID groups notifications so that a newer one replaces an
	// older one on the device; empty: none.
	CollapseID string
	// HighPriority asks the vendor to deliver at once and wake the device.
	HighPriority bool
	// Background marks a data-only (silent) message.
	Background bool
	// ExpiresAt is when the vendor should stop trying; zero: vendor default.
	ExpiresAt time.Time
}

// TTL returns the time left until ExpiresAt at now, and false when the
// message has expired. A zero ExpiresAt has no limit (0, true).
func (m *Message) TTL(now time.Time) (time.Duration, bool) {
	if m.ExpiresAt.IsZero() {
		return 0, true
	}
	d := m.ExpiresAt.Sub(now)
	return d, d > 0
}

// Result is what the vendor said about an accepted message.
type Result struct {
	// VendorID is the vendor's id for the message, if it gives one.
	VendorID string
}

// Sender sends messages through one vendor with one app's credentials. It
// is safe for concurrent use.
type Sender interface {
	// Vendor names the vendor, e.g. "apns".
	Vendor() string
	// Send delivers one message. Errors are *DeadTokenError (the token will
	// never work again: remove it), *RetryError (try again later), or
	// wrap ErrBadCredentials, ErrExpired or ErrRejected.
	Send(ctx context.Context, m *Message) (Result, error)
}
