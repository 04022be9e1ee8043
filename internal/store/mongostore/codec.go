package mongostore

import (
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// The documents as stored. Field names are snake_case; empty fields are
// left out; maps are arrays of pairs (see pair).

type appDoc struct {
	ID         string      `bson:"_id"`
	Name       string      `bson:"name"`
	Key        string      `bson:"key"`
	SecretHash []byte      `bson:"secret_hash,omitempty"`
	CreatedAt  time.Time   `bson:"created_at,omitempty"`
	Settings   settingsDoc `bson:"settings"`
}

type settingsDoc struct {
	AckTimeoutNS int64  `bson:"ack_timeout_ns,omitempty"`
	PayloadMode  string `bson:"payload_mode,omitempty"`
	PushRate     int    `bson:"push_rate,omitempty"`
}

// credentialDoc is one sealed vendor credential of an app; _id is
// scoped(app id, vendor).
type credentialDoc struct {
	ID     string `bson:"_id"`
	AppID  string `bson:"app_id"`
	Vendor string `bson:"vendor"`
	Sealed []byte `bson:"sealed"`
}

type pushDoc struct {
	ID           string          `bson:"_id"`
	AppID        string          `bson:"app_id"`
	Notification notificationDoc `bson:"notification"`
	Audience     audienceDoc     `bson:"audience"`
	Targets      []string        `bson:"targets,omitempty"`
	CreatedAt    time.Time       `bson:"created_at,omitempty"`
	ExpiresAt    time.Time       `bson:"expires_at,omitempty"`
	SendAt       time.Time       `bson:"send_at,omitempty"` // a scheduled push's
	Rate         int             `bson:"rate,omitempty"`    // a push to tags's devices per second
	Fingerprint  string          `bson:"fingerprint,omitempty"`
	State        string          `bson:"state"`
	Counts       countsDoc       `bson:"counts"`
	// Idem is unique: idemByID for a push without a key, idemGen for one
	// with a key.
	Idem string `bson:"idem"`
	// IdemKey, IdemGen and IdemAt are set for a push with a key: the key
	// (with its app), its generation and when this push took it, by
	// Config.Now.
	IdemKey string    `bson:"idem_key,omitempty"`
	IdemGen int64     `bson:"idem_gen,omitempty"`
	IdemAt  time.Time `bson:"idem_at,omitempty"`
}

type notificationDoc struct {
	Title string `bson:"title,omitempty"`
	Body  string `bson:"body,omitempty"`
	Data  []pair `bson:"data,omitempty"`
}

type audienceDoc struct {
	DeviceIDs []string `bson:"device_ids,omitempty"`
	Aliases   []string `bson:"aliases,omitempty"`
	Broadcast bool     `bson:"broadcast,omitempty"`
	Tags      []string `bson:"tags,omitempty"`
}

// countsDoc holds counters by name (see countNames); a missing one is 0.
type countsDoc map[string]int64

// countNames are the counters' field names, in the order of
// store.Counts.Vector. Documents written before a counter existed (opened
// and clicked came after the first ten, the ack delays after those) lack
// its field, which reads as 0.
func countNames() []string {
	return []string{"targeted", "delivered", "acked", "offline", "failed",
		"relayed", "relay_failed", "expired", "no_channel", "dead_tokens", "opened", "clicked",
		"acked_within_1s", "acked_within_10s", "acked_within_60s"}
}

// countDeltaDoc is one AddCounts in CountDeltas mode, or the record of an
// open or click counted (see CountEngagement): its delta in CountDeltas
// mode, a marker without counts in CountInc mode.
type countDeltaDoc struct {
	ID     string    `bson:"_id"`
	PushID string    `bson:"push_id"`
	Counts countsDoc `bson:"counts,omitempty"`
}

type campaignDoc struct {
	ID            string          `bson:"_id"`
	AppID         string          `bson:"app_id"`
	Name          string          `bson:"name"`
	State         string          `bson:"state"`
	Notification  notificationDoc `bson:"notification"`
	Audience      audienceDoc     `bson:"audience"`
	SendAt        time.Time       `bson:"send_at,omitempty"`
	LocalTime     bool            `bson:"local_time,omitempty"`
	RatePerSecond int             `bson:"rate_per_second,omitempty"`
	Cursor        string          `bson:"cursor,omitempty"`
	Sent          int64           `bson:"sent"`
	PushIDs       []string        `bson:"push_ids,omitempty"`
	CreatedAt     time.Time       `bson:"created_at,omitempty"`
	UpdatedAt     time.Time       `bson:"updated_at,omitempty"`
	// Version is compared by updates (see UpdateCampaign).
	Version int64 `bson:"version"`
}

// userDoc is a portal user; email is kept normalised (store.NormalizeEmail)
// and is unique.
type userDoc struct {
	ID           string    `bson:"_id"`
	Email        string    `bson:"email"`
	Name         string    `bson:"name"`
	PasswordHash []byte    `bson:"password_hash,omitempty"`
	Role         string    `bson:"role"`
	Apps         []string  `bson:"apps,omitempty"`
	Disabled     bool      `bson:"disabled,omitempty"`
	CreatedAt    time.Time `bson:"created_at,omitempty"`
	UpdatedAt    time.Time `bson:"updated_at,omitempty"`
	// Version is compared by updates (see UpdateUser).
	Version int64 `bson:"version"`
}

type deviceDoc struct {
	ID        string    `bson:"_id"`
	AppID     string    `bson:"app_id"`
	Secret    []byte    `bson:"secret,omitempty"`
	Platform  string    `bson:"platform,omitempty"`
	Alias     string    `bson:"alias,omitempty"`
	Tags      []string  `bson:"tags,omitempty"`
	Locale    string    `bson:"locale,omitempty"`
	TimeZone  string    `bson:"time_zone,omitempty"`
	Tokens    []pair    `bson:"tokens,omitempty"`
	CreatedAt time.Time `bson:"created_at,omitempty"`
	LastSeen  time.Time `bson:"last_seen,omitempty"`
	// Rev is a random number every write gives the document, so that
	// UpdateDevice replaces only the version it read. Documents written
	// before it existed have none.
	Rev int64 `bson:"rev,omitempty"`
}

// newRev returns a random positive document revision.
func newRev() int64 { return 1 + rand.Int64N(1<<62) }

// pair is one entry of a map. Maps are stored as arrays of pairs because
// map keys become field names, which some servers refuse when they hold
// dots or dollar signs.
type pair struct {
	K string `bson:"k"`
	V string `bson:"v"`
}

func toPairs(m map[string]string) []pair {
	if len(m) == 0 {
		return nil
	}
	out := make([]pair, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, pair{K: k, V: m[k]})
	}
	return out
}

func fromPairs(ps []pair) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.K] = p.V
	}
	return m
}

// utc returns t in UTC; the driver decodes dates in local time.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func toAppDoc(a *store.App) appDoc {
	return appDoc{
		ID:         a.ID,
		Name:       a.Name,
		Key:        a.Key,
		SecretHash: a.SecretHash,
		CreatedAt:  a.CreatedAt,
		Settings:   toSettingsDoc(a.Settings),
	}
}

func (d appDoc) app() *store.App {
	return &store.App{
		ID:         d.ID,
		Name:       d.Name,
		Key:        d.Key,
		SecretHash: d.SecretHash,
		CreatedAt:  utc(d.CreatedAt),
		Settings:   d.Settings.settings(),
	}
}

func toSettingsDoc(s store.Settings) settingsDoc {
	return settingsDoc{AckTimeoutNS: int64(s.AckTimeout), PayloadMode: s.PayloadMode, PushRate: s.PushRate}
}

func (d settingsDoc) settings() store.Settings {
	return store.Settings{AckTimeout: time.Duration(d.AckTimeoutNS), PayloadMode: d.PayloadMode, PushRate: d.PushRate}
}

// toPushDoc returns the document of a new push: scheduled when p.State is
// store.PushScheduled, pending otherwise, with zero counts and the
// idempotency fields left for the caller.
func toPushDoc(p *store.Push) pushDoc {
	state := store.PushPending
	if p.State == store.PushScheduled {
		state = store.PushScheduled
	}
	return pushDoc{
		ID:           p.ID,
		AppID:        p.AppID,
		Notification: toNotificationDoc(p.Notification),
		Audience:     audienceDoc(p.Audience),
		Targets:      p.Targets,
		CreatedAt:    p.CreatedAt,
		ExpiresAt:    p.ExpiresAt,
		SendAt:       p.SendAt,
		Rate:         p.Rate,
		Fingerprint:  p.Fingerprint,
		State:        state,
		Counts:       toCountsDoc(store.Counts{}, false),
	}
}

func (d pushDoc) push() *store.Push {
	return &store.Push{
		ID:           d.ID,
		AppID:        d.AppID,
		Notification: d.Notification.notification(),
		Audience:     store.Audience(d.Audience),
		Targets:      d.Targets,
		CreatedAt:    utc(d.CreatedAt),
		ExpiresAt:    utc(d.ExpiresAt),
		SendAt:       utc(d.SendAt),
		Rate:         d.Rate,
		Fingerprint:  d.Fingerprint,
		State:        d.State,
		Counts:       d.Counts.counts(),
	}
}

func toNotificationDoc(n store.Notification) notificationDoc {
	return notificationDoc{Title: n.Title, Body: n.Body, Data: toPairs(n.Data)}
}

func (d notificationDoc) notification() store.Notification {
	return store.Notification{Title: d.Title, Body: d.Body, Data: fromPairs(d.Data)}
}

// toCountsDoc returns the counters of c; with sparse set it leaves out the
// zero ones.
func toCountsDoc(c store.Counts, sparse bool) countsDoc {
	names, d := countNames(), make(countsDoc)
	for i, n := range c.Vector() {
		if n != 0 || !sparse {
			d[names[i]] = n
		}
	}
	return d
}

func (d countsDoc) counts() store.Counts {
	names := countNames()
	v := make([]int64, len(names))
	for i, name := range names {
		v[i] = d[name]
	}
	return store.CountsFromVector(v)
}

func toDeviceDoc(d *store.Device) deviceDoc {
	return deviceDoc{
		ID:        d.ID,
		AppID:     d.AppID,
		Secret:    d.Secret,
		Platform:  d.Platform,
		Alias:     d.Alias,
		Tags:      d.Tags,
		Locale:    d.Locale,
		TimeZone:  d.TimeZone,
		Tokens:    toPairs(d.Tokens),
		CreatedAt: d.CreatedAt,
		LastSeen:  d.LastSeen,
		Rev:       newRev(),
	}
}

func (d deviceDoc) device() *store.Device {
	return &store.Device{
		ID:        d.ID,
		AppID:     d.AppID,
		Secret:    d.Secret,
		Platform:  d.Platform,
		Alias:     d.Alias,
		Tags:      d.Tags,
		Locale:    d.Locale,
		TimeZone:  d.TimeZone,
		Tokens:    fromPairs(d.Tokens),
		CreatedAt: utc(d.CreatedAt),
		LastSeen:  utc(d.LastSeen),
	}
}

func toCampaignDoc(c *store.Campaign) campaignDoc {
	return campaignDoc{
		ID:            c.ID,
		AppID:         c.AppID,
		Name:          c.Name,
		State:         c.State,
		Notification:  toNotificationDoc(c.Notification),
		Audience:      audienceDoc(c.Audience),
		SendAt:        c.SendAt,
		LocalTime:     c.LocalTime,
		RatePerSecond: c.RatePerSecond,
		Cursor:        c.Cursor,
		Sent:          c.Sent,
		PushIDs:       c.PushIDs,
		CreatedAt:     c.CreatedAt,
		UpdatedAt:     c.UpdatedAt,
		Version:       c.Version,
	}
}

func (d campaignDoc) campaign() *store.Campaign {
	return &store.Campaign{
		ID:            d.ID,
		AppID:         d.AppID,
		Name:          d.Name,
		State:         d.State,
		Notification:  d.Notification.notification(),
		Audience:      store.Audience(d.Audience),
		SendAt:        utc(d.SendAt),
		LocalTime:     d.LocalTime,
		RatePerSecond: d.RatePerSecond,
		Cursor:        d.Cursor,
		Sent:          d.Sent,
		PushIDs:       d.PushIDs,
		CreatedAt:     utc(d.CreatedAt),
		UpdatedAt:     utc(d.UpdatedAt),
		Version:       d.Version,
	}
}

// toUserDoc returns u's document with its email normalised.
func toUserDoc(u *store.User) userDoc {
	return userDoc{
		ID:           u.ID,
		Email:        store.NormalizeEmail(u.Email),
		Name:         u.Name,
		PasswordHash: u.PasswordHash,
		Role:         u.Role,
		Apps:         u.Apps,
		Disabled:     u.Disabled,
		CreatedAt:    u.CreatedAt,
		UpdatedAt:    u.UpdatedAt,
		Version:      u.Version,
	}
}

func (d userDoc) user() *store.User {
	return &store.User{
		ID:           d.ID,
		Email:        d.Email,
		Name:         d.Name,
		PasswordHash: d.PasswordHash,
		Role:         d.Role,
		Apps:         d.Apps,
		Disabled:     d.Disabled,
		CreatedAt:    utc(d.CreatedAt),
		UpdatedAt:    utc(d.UpdatedAt),
		Version:      d.Version,
	}
}
