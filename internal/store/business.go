package store

import (
	"context"
	"strings"
	"time"
)

// Campaign states. A campaign starts as a draft; the campaign runner moves
// it through scheduled, running and paused to done, and the portal may
// cancel it.
const (
	CampaignDraft     = "draft"
	CampaignScheduled = "scheduled"
	CampaignRunning   = "running"
	CampaignPaused    = "paused"
	CampaignDone      = "done"
	CampaignCancelled = "cancelled"
)

// Campaign is a push to a large audience that the campaign runner sends in
// pages, on a schedule and at a rate, and that the portal composes and
// watches.
type Campaign struct {
	// ID is time-ordered (internal/ids), so sorting by id is sorting by age.
	ID           string       `json:"id"`
	AppID        string       `json:"app_id"`
	Name         string       `json:"name"`
	State        string       `json:"state"`
	Notification Notification `json:"notification"`
	Audience     Audience     `json:"audience"`
	// SendAt is when sending starts; zero means when the campaign is
	// started.
	SendAt time.Time `json:"send_at,omitzero"`
	// LocalTime sends at SendAt's wall-clock time in each device's time
	// zone instead of at the instant SendAt.
	LocalTime bool `json:"local_time,omitempty"`
	// RatePerSecond caps the messages sent per second; 0 is unthrottled.
	RatePerSecond int `json:"rate_per_second,omitempty"`
	// Cursor is the audience enumeration checkpoint the runner resumes
	// from; empty before the first page.
	Cursor string `json:"cursor,omitempty"`
	// Sent counts the messages sent so far.
	Sent int64 `json:"sent"`
	// PushIDs are the pushes the campaign sent its pages as, in order;
	// its numbers are theirs summed.
	PushIDs   []string  `json:"push_ids,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version is 1 after CreateCampaign and grows by 1 with every
	// successful UpdateCampaign; updates compare it (see Campaigns).
	Version int64 `json:"version"`
}

// Portal user roles.
const (
	RoleAdmin    = "admin"    // everything, every app
	RoleMarketer = "marketer" // campaigns and statistics of its apps
	RoleViewer   = "viewer"   // reads its apps' campaigns and statistics
)

// User is a person who signs in to the portal.
type User struct {
	ID string `json:"id"`
	// Email is unique and compared without regard to case; the store keeps
	// it as NormalizeEmail returns it.
	Email string `json:"email"`
	Name  string `json:"name"`
	// PasswordHash is made by the caller; the store never sees passwords.
	PasswordHash []byte `json:"password_hash,omitempty"`
	// Role is RoleAdmin, RoleMarketer or RoleViewer.
	Role string `json:"role"`
	// Apps are the ids of the apps the user may see; empty for an admin
	// means every app.
	Apps      []string  `json:"apps,omitempty"`
	Disabled  bool      `json:"disabled,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version is 1 after CreateUser and grows by 1 with every successful
	// UpdateUser; updates compare it (see Users).
	Version int64 `json:"version"`
}

// NormalizeEmail returns email as the store keeps and compares it: in lower
// case.
func NormalizeEmail(email string) string { return strings.ToLower(email) }

// Campaigns stores campaigns. Updates are compare-and-set on Version, so a
// runner checkpointing a campaign and a marketer pausing it never overwrite
// each other unseen: the one that lost reads the campaign again and retries.
type Campaigns interface {
	// CreateCampaign stores a new campaign with Version 1 and sets
	// c.Version to 1. A taken id is ErrConflict.
	CreateCampaign(ctx context.Context, c *Campaign) error
	// Campaign returns the campaign with the id, or ErrNotFound.
	Campaign(ctx context.Context, id string) (*Campaign, error)
	// CampaignsByApp returns up to limit campaigns of an app, newest first
	// (by id): those with an id below after, or the newest when after is
	// empty. The last id of a page is the after of the next one.
	CampaignsByApp(ctx context.Context, appID, after string, limit int) ([]*Campaign, error)
	// UpdateCampaign stores c when the stored campaign's Version equals
	// c.Version, with Version one higher, and sets c.Version to it. A
	// stored Version that differs is ErrConflict and changes nothing; an
	// unknown id is ErrNotFound. AppID and CreatedAt keep their stored
	// values, which are copied into c.
	UpdateCampaign(ctx context.Context, c *Campaign) error
}

// Users stores portal users.
type Users interface {
	// CreateUser stores a new user with Version 1, its email normalised
	// (NormalizeEmail), and sets u.Email and u.Version accordingly. A taken
	// id or email is ErrConflict.
	CreateUser(ctx context.Context, u *User) error
	// User returns the user with the id, or ErrNotFound.
	User(ctx context.Context, id string) (*User, error)
	// UserByEmail returns the user with the email in any case, or
	// ErrNotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns up to limit users with an id above after, by id.
	// The last id of a page is the after of the next one.
	ListUsers(ctx context.Context, after string, limit int) ([]*User, error)
	// UpdateUser stores u when the stored user's Version equals u.Version,
	// with Version one higher, and sets u.Version to it (u.Email is
	// normalised). A stored Version that differs is ErrConflict and changes
	// nothing, an unknown id ErrNotFound, and an email another user has
	// ErrConflict; the user's old email becomes free. CreatedAt keeps its
	// stored value, which is copied into u.
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser removes a user and frees its email; deleting a missing one
	// is not an error.
	DeleteUser(ctx context.Context, id string) error
}
