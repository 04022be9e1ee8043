// Package store is the data layer of mopush: apps, devices, per-device message
// streams and pushes. This file holds the types and the interfaces that every
// backend implements; the embedded Pebble backend lives in package
// store/pebblestore and the conformance suite every backend passes in
// store/storetest.
package store

import (
	"context"
	"time"
)

// App is a tenant: one mobile/web application with its own credentials.
type App struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Key is public: it ships inside the app and identifies it at device
	// registration.
	Key string `json:"key"`
	// SecretHash is SHA-256 of the master secret the backend pushes with.
	SecretHash []byte    `json:"secret_hash"`
	CreatedAt  time.Time `json:"created_at"`
}

// Device is one installation of an app.
type Device struct {
	ID    string `json:"id"`
	AppID string `json:"app_id"`
	// Secret is the device secret; the handshake proves it with HMAC.
	Secret    []byte            `json:"secret"`
	Platform  string            `json:"platform,omitempty"`
	Alias     string            `json:"alias,omitempty"`
	Tags      []string          `json:"tags,omitempty"`
	Locale    string            `json:"locale,omitempty"`
	TimeZone  string            `json:"time_zone,omitempty"`
	Tokens    map[string]string `json:"tokens,omitempty"` // vendor name -> push token
	CreatedAt time.Time         `json:"created_at"`
	LastSeen  time.Time         `json:"last_seen"`
}

// Message is one entry of a device's stream.
type Message struct {
	Seq       uint64            `json:"seq"`
	PushID    string            `json:"push_id"`
	Title     string            `json:"title,omitempty"`
	Body      string            `json:"body,omitempty"`
	Data      map[string]string `json:"data,omitempty"`
	SentAt    time.Time         `json:"sent_at"`
	ExpiresAt time.Time         `json:"expires_at,omitzero"` // zero: never
}

// Entry asks for one message to be appended to one device's stream.
type Entry struct {
	DeviceID string
	Message  Message // Seq is assigned by Append
}

// Position is a place in a stream: its epoch and a sequence number.
type Position struct {
	Epoch uint64 `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// Page is one read of a stream.
type Page struct {
	Epoch    uint64    // current epoch of the stream
	Head     uint64    // sequence number of the newest message, 0 if none
	Messages []Message // in sequence order, expired ones left out
	// Recovered is false when the reader's epoch differs from the stream's
	// or messages after its cursor were trimmed: the reader missed something
	// and should resync.
	Recovered bool
	// More is true when messages after the last one returned exist.
	More bool
}

// Mark names a per-device watermark over the stream.
type Mark int

// Watermarks over a device's stream.
const (
	// MarkSent is the highest sequence written to a live session.
	MarkSent Mark = iota
	// MarkAcked is the highest sequence the device acknowledged.
	MarkAcked
)

// Notification is what a push shows.
type Notification struct {
	Title string            `json:"title,omitempty"`
	Body  string            `json:"body,omitempty"`
	Data  map[string]string `json:"data,omitempty"`
}

// Audience selects the devices of a push.
type Audience struct {
	DeviceIDs []string `json:"device_ids,omitempty"`
	Aliases   []string `json:"aliases,omitempty"`
}

// Counts are the per-push delivery counters.
type Counts struct {
	Targeted  int64 `json:"targeted"`
	Delivered int64 `json:"delivered"` // written to a live session
	Acked     int64 `json:"acked"`
	Offline   int64 `json:"offline"` // no live session when routed
	Failed    int64 `json:"failed"`  // could not be routed or appended
}

// Add returns the element-wise sum.
func (c Counts) Add(d Counts) Counts {
	return Counts{
		Targeted:  c.Targeted + d.Targeted,
		Delivered: c.Delivered + d.Delivered,
		Acked:     c.Acked + d.Acked,
		Offline:   c.Offline + d.Offline,
		Failed:    c.Failed + d.Failed,
	}
}

// Push states.
const (
	PushPending = "pending" // accepted, routing not finished
	PushDone    = "done"    // routed to every target
)

// Push is one accepted push request.
type Push struct {
	ID           string       `json:"id"`
	AppID        string       `json:"app_id"`
	Notification Notification `json:"notification"`
	Audience     Audience     `json:"audience"`
	Targets      []string     `json:"targets"` // resolved device ids
	CreatedAt    time.Time    `json:"created_at"`
	ExpiresAt    time.Time    `json:"expires_at,omitzero"`
	// Fingerprint identifies the request body, to tell an idempotent retry
	// from a reuse of the key with another body.
	Fingerprint string `json:"fingerprint,omitempty"`
	State       string `json:"state"`
	Counts      Counts `json:"counts"` // filled by Push, ignored by CreatePush
}

// Apps stores tenants.
type Apps interface {
	CreateApp(ctx context.Context, a *App) error
	// AppByKey returns ErrNotFound for an unknown key.
	AppByKey(ctx context.Context, key string) (*App, error)
	// AppByID returns ErrNotFound for an unknown id.
	AppByID(ctx context.Context, id string) (*App, error)
}

// Devices stores device state.
type Devices interface {
	// PutDevice creates or replaces a device and keeps the alias index
	// current.
	PutDevice(ctx context.Context, d *Device) error
	// Devices returns the devices with the given ids, by position; a missing
	// device is nil.
	Devices(ctx context.Context, ids []string) ([]*Device, error)
	// DeviceIDsByAlias returns the ids of an app's devices that have one of
	// the aliases, each once, in no particular order.
	DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error)
}

// Streams stores per-device message streams. A stream has an epoch, fixed
// when the stream is created and changed only when the stream is lost, and
// sequence numbers that start at 1 and grow by 1 per append.
type Streams interface {
	// Append appends each entry's message to its device's stream, durably,
	// and returns the assigned positions by entry order. Appends to one
	// device are serialised: sequence numbers have no gaps or repeats.
	Append(ctx context.Context, entries []Entry) ([]Position, error)
	// ReadStream returns up to limit messages after since. epoch is the
	// reader's epoch (0 if it has none); when it differs from the stream's,
	// the read starts at the oldest retained message and Recovered is false.
	// So it does for a reader with no epoch but since > 0, and for a since
	// past the head; a since before the oldest retained message minus one
	// (history trimmed) reads from the oldest one with Recovered false. A
	// stream that does not exist has epoch 0 and head 0.
	ReadStream(ctx context.Context, deviceID string, epoch, since uint64, limit int) (Page, error)
	// Advance moves a watermark forward to through (never back, never past
	// the head) and returns the messages it newly covers, in order: those
	// still retained, expired ones included.
	Advance(ctx context.Context, deviceID string, mark Mark, through uint64) ([]Message, error)
	// Watermark returns the current value of a watermark.
	Watermark(ctx context.Context, deviceID string, mark Mark) (uint64, error)
}

// Pushes stores push requests and their counters.
type Pushes interface {
	// CreatePush stores p durably. When idemKey is not empty and the app
	// used it before (within the idempotency window), nothing is written
	// and the earlier push's id is returned; otherwise p.ID is returned.
	CreatePush(ctx context.Context, p *Push, idemKey string) (string, error)
	// Push returns the push with its current counts, or ErrNotFound.
	Push(ctx context.Context, id string) (*Push, error)
	// AddCounts adds delta to a push's counters, or returns ErrNotFound.
	AddCounts(ctx context.Context, id string, delta Counts) error
	// FinishPush marks a push done: it leaves the pending list. Finishing a
	// done push does nothing; an unknown one is ErrNotFound.
	FinishPush(ctx context.Context, id string) error
	// PendingPushes lists the ids of pushes accepted but not finished, oldest
	// first.
	PendingPushes(ctx context.Context, limit int) ([]string, error)
}

// Store is every part of the data layer together.
type Store interface {
	Apps
	Devices
	Streams
	Pushes
	// Close releases the store; it is safe to call more than once.
	Close() error
}

// Defaults of the stream retention.
const (
	// DefaultMaxStreamLen is how many messages a device stream retains.
	DefaultMaxStreamLen = 1000
	// DefaultIdempotencyWindow is how long an idempotency key is remembered.
	DefaultIdempotencyWindow = 24 * time.Hour
)
