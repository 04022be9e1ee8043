// Package store is the data layer of mopush: apps, devices, per-device message
// streams and pushes, and the business data of campaigns and portal users.
// This file and business.go hold the types and the interfaces that every
// backend implements; the embedded Pebble backend lives in package
// store/pebblestore and the conformance suite every backend passes in
// store/storetest.
package store

import (
	"context"
	"maps"
	"slices"
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
	Settings   Settings  `json:"settings"`
}

// Payload modes: what a vendor notification carries.
const (
	PayloadFull      = "full"      // title, body and data
	PayloadEncrypted = "encrypted" // the notification sealed with the device's key
	PayloadWakeup    = "wakeup"    // only the push id; the SDK pulls the body itself
)

// Settings are an app's delivery settings; zero values mean the server's
// defaults.
type Settings struct {
	// AckTimeout is how long a live device has to acknowledge before the
	// push goes through its vendor channel. 0: the server default (10s).
	AckTimeout time.Duration `json:"ack_timeout,omitempty"`
	// PayloadMode is PayloadFull (default), PayloadEncrypted or
	// PayloadWakeup.
	PayloadMode string `json:"payload_mode,omitempty"`
	// PushRate bounds the push requests the app may make per second to
	// each gateway; 0: no bound.
	PushRate int `json:"push_rate,omitempty"`
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

// Clone returns a copy of d that shares nothing with it.
func (d *Device) Clone() *Device {
	c := *d
	c.Secret = slices.Clone(d.Secret)
	c.Tags = slices.Clone(d.Tags)
	c.Tokens = maps.Clone(d.Tokens)
	return &c
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

// Expired reports whether m's TTL has run out at now.
func (m Message) Expired(now time.Time) bool {
	return !m.ExpiresAt.IsZero() && !now.Before(m.ExpiresAt)
}

// AckOutcome is the outcome an acknowledgement at now gives m: expired
// when its TTL ran out first (the device never saw it), else acked.
func (m Message) AckOutcome(now time.Time) Outcome {
	if m.Expired(now) {
		return OutcomeExpired
	}
	return OutcomeAcked
}

// Entry asks for one message to be appended to one device's stream.
type Entry struct {
	DeviceID string
	Message  Message // Seq is assigned by Append
}

// MaxEpoch bounds stream epochs: they fit in 53 bits so that JSON clients
// in any language read them exactly.
const MaxEpoch = 1<<53 - 1

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

// Target is what the relay's fallback check of one message reads of its
// device's stream: the stream's epoch and head, the push of the message
// with the check's number in the current epoch ("" when none is retained),
// the ack watermark, and the outcome recorded at that number.
type Target struct {
	Epoch, Head uint64
	PushAt      string
	Acked       uint64
	Outcome     Outcome
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
	// Broadcast reaches every device of the app through the app's
	// broadcast stream.
	Broadcast bool `json:"broadcast,omitempty"`
	// Tags reaches every device of the app that has one of them, listed
	// from the store's tag index in pages when the push is routed.
	Tags []string `json:"tags,omitempty"`
}

// BroadcastStream is the id of an app's broadcast stream in Streams: one
// append per broadcast, read by every device of the app. It cannot collide
// with a device id (ids never contain a colon).
func BroadcastStream(appID string) string { return "bcast:" + appID }

// Counts are the per-push delivery counters. Acked, Relayed, RelayFailed,
// Expired and NoChannel are outcomes: each target ends in exactly one of
// them. Delivered, Offline, Failed and DeadTokens record what happened on
// the way.
type Counts struct {
	Targeted    int64 `json:"targeted"`
	Delivered   int64 `json:"delivered"`    // written to a live session
	Acked       int64 `json:"acked"`        // acknowledged by the device (outcome)
	Offline     int64 `json:"offline"`      // no live session when routed
	Failed      int64 `json:"failed"`       // could not be routed or appended
	Relayed     int64 `json:"relayed"`      // taken by the vendor (outcome)
	RelayFailed int64 `json:"relay_failed"` // the vendor refused it for good (outcome)
	Expired     int64 `json:"expired"`      // TTL ran out first (outcome)
	NoChannel   int64 `json:"no_channel"`   // offline and no vendor token (outcome)
	DeadTokens  int64 `json:"dead_tokens"`  // vendor tokens removed as dead
	Opened      int64 `json:"opened"`       // devices that reported the notification opened
	Clicked     int64 `json:"clicked"`      // devices that reported a click in it
	// AckedWithin1s, AckedWithin10s and AckedWithin60s count the acks that
	// came that soon after the message was appended to the device's stream
	// (cumulative: an ack within 1 s counts in all three). See AckTiming.
	AckedWithin1s  int64 `json:"acked_within_1s"`
	AckedWithin10s int64 `json:"acked_within_10s"`
	AckedWithin60s int64 `json:"acked_within_60s"`
}

// Vector returns the counters in a fixed order, for encodings.
func (c Counts) Vector() []int64 {
	return []int64{c.Targeted, c.Delivered, c.Acked, c.Offline, c.Failed,
		c.Relayed, c.RelayFailed, c.Expired, c.NoChannel, c.DeadTokens, c.Opened, c.Clicked,
		c.AckedWithin1s, c.AckedWithin10s, c.AckedWithin60s}
}

// CountsFromVector is the inverse of Vector; a shorter vector (an older
// encoding) leaves the missing counters zero.
func CountsFromVector(v []int64) Counts {
	var c Counts
	ptrs := []*int64{&c.Targeted, &c.Delivered, &c.Acked, &c.Offline, &c.Failed,
		&c.Relayed, &c.RelayFailed, &c.Expired, &c.NoChannel, &c.DeadTokens, &c.Opened, &c.Clicked,
		&c.AckedWithin1s, &c.AckedWithin10s, &c.AckedWithin60s}
	for i := range min(len(v), len(ptrs)) {
		*ptrs[i] = v[i]
	}
	return c
}

// Add returns the element-wise sum.
func (c Counts) Add(d Counts) Counts {
	a, b := c.Vector(), d.Vector()
	for i := range a {
		a[i] += b[i]
	}
	return CountsFromVector(a)
}

// AckTiming returns the counts of an ack that came at now for a message
// appended at sentAt: the AckedWithin counters its delay falls within. A
// message without an append time counts in none.
func AckTiming(sentAt, now time.Time) Counts {
	var c Counts
	if sentAt.IsZero() {
		return c
	}
	switch d := now.Sub(sentAt); {
	case d <= time.Second:
		c.AckedWithin1s = 1
		fallthrough
	case d <= 10*time.Second:
		c.AckedWithin10s = 1
		fallthrough
	case d <= time.Minute:
		c.AckedWithin60s = 1
	}
	return c
}

// Outcome is the final state of one target of a push.
type Outcome uint8

// Outcomes of a target. Acked replaces any other outcome (a late ack still
// counts); nothing replaces Acked; the others are set once.
const (
	OutcomeNone Outcome = iota
	OutcomeAcked
	OutcomeRelayed
	OutcomeRelayFailed
	OutcomeExpired
	OutcomeNoChannel
)

// Delta returns the counts change of moving one target from prev to o.
func (o Outcome) Delta(prev Outcome) Counts {
	var c Counts
	o.bump(&c, 1)
	prev.bump(&c, -1)
	return c
}

func (o Outcome) bump(c *Counts, n int64) {
	switch o {
	case OutcomeAcked:
		c.Acked += n
	case OutcomeRelayed:
		c.Relayed += n
	case OutcomeRelayFailed:
		c.RelayFailed += n
	case OutcomeExpired:
		c.Expired += n
	case OutcomeNoChannel:
		c.NoChannel += n
	}
}

// Replaces reports whether o may replace prev.
func (o Outcome) Replaces(prev Outcome) bool {
	switch {
	case o == OutcomeNone || prev == OutcomeAcked:
		return false
	case prev == OutcomeNone:
		return true
	default:
		return o == OutcomeAcked
	}
}

// Push states.
const (
	// PushScheduled: accepted with a send time still ahead; not routed
	// until it comes (EndSchedule), and never if it is cancelled first.
	PushScheduled = "scheduled"
	PushPending   = "pending" // accepted, routing not finished
	PushDone      = "done"    // routed to every target
	// PushCancelled: a scheduled push cancelled before its send time; it
	// is never routed.
	PushCancelled = "cancelled"
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
	// SendAt is when a scheduled push is routed; zero for a push routed at
	// once.
	SendAt time.Time `json:"send_at,omitzero"`
	// Rate bounds how many devices a push to tags reaches per second; 0:
	// as fast as routing goes.
	Rate int `json:"rate,omitempty"`
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
	// ListApps returns up to limit apps with an id above after, by id
	// (ids are time-ordered, so oldest first). The last id of a page is
	// the after of the next one.
	ListApps(ctx context.Context, after string, limit int) ([]*App, error)
	// UpdateSettings replaces an app's settings; ErrNotFound for an unknown
	// app.
	UpdateSettings(ctx context.Context, appID string, s Settings) error
}

// Credentials stores each app's vendor credentials, sealed by the caller
// (the store never sees them in clear).
type Credentials interface {
	// PutCredential creates or replaces the sealed credential of one vendor.
	PutCredential(ctx context.Context, appID, vendor string, sealed []byte) error
	// Credential returns the sealed credential, or ErrNotFound.
	Credential(ctx context.Context, appID, vendor string) ([]byte, error)
	// CredentialVendors lists the vendors an app has credentials for, sorted.
	CredentialVendors(ctx context.Context, appID string) ([]string, error)
	// DeleteCredential removes one; deleting a missing one is not an error.
	DeleteCredential(ctx context.Context, appID, vendor string) error
}

// Outcomes records the final state of each target: one device's message.
type Outcomes interface {
	// SetOutcome records o for message seq of a device's stream when o
	// replaces the outcome it has (see Outcome.Replaces), and returns the
	// outcome it had and whether o was recorded. Safe for concurrent use:
	// of two racing calls, exactly one sees the other's result.
	SetOutcome(ctx context.Context, deviceID string, seq uint64, o Outcome) (prev Outcome, set bool, err error)
	// OutcomeOf returns the recorded outcome (OutcomeNone if none).
	OutcomeOf(ctx context.Context, deviceID string, seq uint64) (Outcome, error)
}

// OutcomeCounter is implemented by a store that can record a target's
// outcome and count it in one atomic write, so that no crash leaves an
// outcome recorded and its count lost (a recorded outcome is never counted
// again). SetOutcomeCounted is SetOutcome that also adds, in the same
// write, extra and, when o was recorded, o.Delta(prev) to push pushID's
// counters; a push that is not stored has no counters, and the outcome is
// recorded all the same.
type OutcomeCounter interface {
	SetOutcomeCounted(ctx context.Context, deviceID string, seq uint64, o Outcome, pushID string, extra Counts) (prev Outcome, set bool, err error)
}

// Acked is one message an acknowledgement newly covered, and what
// recording its outcome did.
type Acked struct {
	Message Message
	Outcome Outcome // the outcome given: acked, or expired
	Prev    Outcome // the outcome it had
	Set     bool    // Outcome replaced Prev
	// Counted is true when the store added the change of counts,
	// CountsDelta, to the message's push in the same write.
	Counted bool
}

// CountsDelta is the change of counts of a's push when a.Set: its outcome's
// Delta, and for an ack how soon it came (AckTiming).
func (a Acked) CountsDelta(now time.Time) Counts {
	d := a.Outcome.Delta(a.Prev)
	if a.Outcome == OutcomeAcked {
		d = d.Add(AckTiming(a.Message.SentAt, now))
	}
	return d
}

// AckRecorder is implemented by a store that can move a device's ack
// watermark and record the outcomes of the messages it passes in one
// atomic write, so that no crash leaves messages acknowledged without
// their outcome. AdvanceAcked moves the watermark as Streams.Advance does
// and records each newly covered message as acked, or as expired when it
// had expired at now (Message.Expired), where that outcome replaces the
// recorded one (Outcome.Replaces).
type AckRecorder interface {
	AdvanceAcked(ctx context.Context, deviceID string, through uint64, now time.Time) ([]Acked, error)
}

// SentCounter is implemented by a store that can move a device's sent
// watermark and count the messages it passes as delivered in one atomic
// write, so that no crash loses the count of a delivery the watermark
// records. AdvanceSent moves the sent watermark as Streams.Advance does,
// adds 1 to the delivered count of the push of each newly covered message
// that had not expired at now, and returns the newly covered messages.
type SentCounter interface {
	AdvanceSent(ctx context.Context, deviceID string, through uint64, now time.Time) ([]Message, error)
}

// StreamDropper is implemented by a store that can remove a device's
// stream: its messages, their outcomes and its watermarks. A deleted
// device's stream is dropped, so that what was sent to it does not outlive
// it. Dropping a missing stream is not an error. An append after the drop
// starts a stream in a new epoch.
type StreamDropper interface {
	DropStream(ctx context.Context, deviceID string) error
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
	// UpdateDevice changes a stored device in place. It reads the device,
	// calls change on a copy, and when change reports a change writes the
	// copy (moving the alias entry as PutDevice does), unless another write
	// or the deletion of the device came between the read and the write:
	// then it reads the device again and calls change again. It returns the
	// device as stored afterwards, or ErrNotFound when there is none
	// (change is not called then). change may run more than once, must
	// only change the device it is given, and must not change its id.
	UpdateDevice(ctx context.Context, id string, change func(d *Device) bool) (*Device, error)
	// DeleteDevice removes a device and its alias index entry. Deleting a
	// missing device is not an error. A device id is never given again, so
	// a deleted device stays deleted.
	DeleteDevice(ctx context.Context, id string) error
}

// Engagement kinds a device reports about a push it received.
const (
	EngagementOpen  = "open"  // the user opened the notification
	EngagementClick = "click" // the user clicked in it (an action, a link)
)

// Engagements counts what users did with pushes, once per device: a
// report sent again (a retry, a reconnect) adds nothing.
type Engagements interface {
	// CountEngagement adds 1 to the push's Opened (kind EngagementOpen) or
	// Clicked (EngagementClick) count unless this device's report of that
	// kind for the push was counted before; it returns whether it counted.
	// An unknown push is ErrNotFound; another kind is an error. Counted
	// without fsync, like other counts.
	CountEngagement(ctx context.Context, pushID, deviceID, kind string) (bool, error)
}

// RoutingLeases is implemented by a push store that several gateways
// share. A gateway that routes a push for longer than a sweep waits (a
// push to tags, page after page) leases it, and the sweeps of the others
// leave a leased push alone.
type RoutingLeases interface {
	// LeasePush sets the time until which push id is being routed; an
	// unknown push is ErrNotFound.
	LeasePush(ctx context.Context, id string, until time.Time) error
	// PushLease returns that time: zero when the push was never leased;
	// ErrNotFound for an unknown push.
	PushLease(ctx context.Context, id string) (time.Time, error)
}

// PushLister lists an app's pushes, newest first, in pages.
type PushLister interface {
	// PushIDsByApp returns the ids of up to limit pushes of the app whose
	// id is less than before ("" for the newest), newest first (push ids
	// sort by creation time). A page shorter than limit is the last.
	PushIDsByApp(ctx context.Context, appID, before string, limit int) ([]string, error)
}

// TagIndex lists an app's devices, in pages: by their tags, for pushes
// whose audience is a set of tags, or all of them, for campaigns sent to
// a whole app in each device's local time.
type TagIndex interface {
	// DeviceIDsByTags returns, sorted, the ids of up to limit devices of
	// the app that have at least one of tags and whose id is greater than
	// after ("" for the first page): each device once, however many of
	// the tags it has. A page shorter than limit is the last. A store
	// that cannot list devices by tag returns ErrUnsupported, also for
	// limit 0, which otherwise returns nothing: callers ask with limit 0
	// whether tags are supported.
	DeviceIDsByTags(ctx context.Context, appID string, tags []string, after string, limit int) ([]string, error)
	// DeviceIDsByApp returns, sorted, the ids of up to limit devices of the
	// app whose id is greater than after ("" for the first page). A page
	// shorter than limit is the last. A store that cannot list an app's
	// devices returns ErrUnsupported (also for limit 0, which otherwise
	// returns nothing).
	DeviceIDsByApp(ctx context.Context, appID string, after string, limit int) ([]string, error)
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
	// A push whose State is PushScheduled (with SendAt set) is stored as
	// scheduled: it is not pending, and DuePushes lists it once SendAt
	// comes. Any other State is ignored: the push is stored as pending.
	CreatePush(ctx context.Context, p *Push, idemKey string) (string, error)
	// Push returns the push with its current counts, or ErrNotFound.
	Push(ctx context.Context, id string) (*Push, error)
	// AddCounts adds delta to a push's counters, or returns ErrNotFound.
	AddCounts(ctx context.Context, id string, delta Counts) error
	// FinishPush adds counts (what routing decided: offline, failed, a
	// broadcast's targeted) to a pending push's counters and marks it done,
	// so that it leaves the pending list, in one write: a push that is done
	// has its routing counts, and one still pending, routed again, counts
	// them once. Finishing a done push does nothing, counts included; an
	// unknown one is ErrNotFound.
	FinishPush(ctx context.Context, id string, counts Counts) error
	// PendingPushes lists the ids of pushes accepted but not finished, oldest
	// first.
	PendingPushes(ctx context.Context, limit int) ([]string, error)
	// DuePushes lists the ids of up to limit scheduled pushes whose SendAt
	// is at or before now, earliest SendAt first.
	DuePushes(ctx context.Context, now time.Time, limit int) ([]string, error)
	// EndSchedule moves a scheduled push to state to: PushPending (its send
	// time came: it joins the pending list, to be routed) or PushCancelled
	// (it is never routed). It returns false and changes nothing when the
	// push is no longer scheduled (started or cancelled already); of two
	// calls at once, exactly one moves it. An unknown push is ErrNotFound.
	// The change is durable when it returns.
	EndSchedule(ctx context.Context, id, to string) (bool, error)
}

// DeferredPushes is implemented by a store that can take a push without
// syncing it at once, so that the synced write that follows (the append of
// its delivery to a device stream, in the same database) makes it durable
// too, and a push costs one fsync instead of two.
type DeferredPushes interface {
	// CreatePushDeferred is CreatePush, except that the push may be lost
	// in a power cut until SyncSince(mark) returns.
	CreatePushDeferred(ctx context.Context, p *Push, idemKey string) (id string, mark uint64, err error)
	// SyncSince makes durable every write that completed before mark was
	// returned. It writes nothing when a synced write did so already.
	SyncSince(ctx context.Context, mark uint64) error
}

// Store is every part of the data layer together.
type Store interface {
	Apps
	Devices
	Streams
	Pushes
	Credentials
	Outcomes
	Campaigns
	Users
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
