package store

import (
	"context"
	"time"
)

// Compose assembles a Store from parts held by different backends (for
// example business data in MongoDB, device streams in Redis), and lets a
// backend that implements only some interfaces run the conformance suite.
// Calling a method of a part left nil panics.
type Compose struct {
	A Apps
	D Devices
	S Streams
	P Pushes
	C Credentials
	O Outcomes
	K Campaigns
	U Users
	// CloseFunc closes the backend; nil does nothing.
	CloseFunc func() error
}

var (
	_ Store       = Compose{}
	_ TagIndex    = Compose{}
	_ Engagements = Compose{}
	_ PushLister  = Compose{}
)

// Close calls CloseFunc.
func (c Compose) Close() error {
	if c.CloseFunc == nil {
		return nil
	}
	return c.CloseFunc()
}

// CreateApp delegates to A.
func (c Compose) CreateApp(ctx context.Context, a *App) error { return c.A.CreateApp(ctx, a) }

// AppByKey delegates to A.
func (c Compose) AppByKey(ctx context.Context, key string) (*App, error) {
	return c.A.AppByKey(ctx, key)
}

// AppByID delegates to A.
func (c Compose) AppByID(ctx context.Context, id string) (*App, error) {
	return c.A.AppByID(ctx, id)
}

// ListApps delegates to A.
func (c Compose) ListApps(ctx context.Context, after string, limit int) ([]*App, error) {
	return c.A.ListApps(ctx, after, limit)
}

// UpdateSettings delegates to A.
func (c Compose) UpdateSettings(ctx context.Context, appID string, st Settings) error {
	return c.A.UpdateSettings(ctx, appID, st)
}

// PutCredential delegates to C.
func (c Compose) PutCredential(ctx context.Context, appID, vendor string, sealed []byte) error {
	return c.C.PutCredential(ctx, appID, vendor, sealed)
}

// Credential delegates to C.
func (c Compose) Credential(ctx context.Context, appID, vendor string) ([]byte, error) {
	return c.C.Credential(ctx, appID, vendor)
}

// CredentialVendors delegates to C.
func (c Compose) CredentialVendors(ctx context.Context, appID string) ([]string, error) {
	return c.C.CredentialVendors(ctx, appID)
}

// DeleteCredential delegates to C.
func (c Compose) DeleteCredential(ctx context.Context, appID, vendor string) error {
	return c.C.DeleteCredential(ctx, appID, vendor)
}

// SetOutcome delegates to O.
func (c Compose) SetOutcome(ctx context.Context, id string, seq uint64, o Outcome) (Outcome, bool, error) {
	return c.O.SetOutcome(ctx, id, seq, o)
}

// OutcomeOf delegates to O.
func (c Compose) OutcomeOf(ctx context.Context, id string, seq uint64) (Outcome, error) {
	return c.O.OutcomeOf(ctx, id, seq)
}

// PutDevice delegates to D.
func (c Compose) PutDevice(ctx context.Context, d *Device) error { return c.D.PutDevice(ctx, d) }

// Devices delegates to D.
func (c Compose) Devices(ctx context.Context, ids []string) ([]*Device, error) {
	return c.D.Devices(ctx, ids)
}

// DeviceIDsByAlias delegates to D.
func (c Compose) DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error) {
	return c.D.DeviceIDsByAlias(ctx, appID, aliases)
}

// DeviceIDsByTags delegates to D when it is a TagIndex, and returns
// ErrUnsupported otherwise.
func (c Compose) DeviceIDsByTags(ctx context.Context, appID string, tags []string, after string, limit int) ([]string, error) {
	if ti, ok := c.D.(TagIndex); ok {
		return ti.DeviceIDsByTags(ctx, appID, tags, after, limit)
	}
	return nil, ErrUnsupported
}

// DeviceIDsByApp delegates to D when it is a TagIndex, and returns
// ErrUnsupported otherwise.
func (c Compose) DeviceIDsByApp(ctx context.Context, appID string, after string, limit int) ([]string, error) {
	if ti, ok := c.D.(TagIndex); ok {
		return ti.DeviceIDsByApp(ctx, appID, after, limit)
	}
	return nil, ErrUnsupported
}

// UpdateDevice delegates to D.
func (c Compose) UpdateDevice(ctx context.Context, id string, change func(*Device) bool) (*Device, error) {
	return c.D.UpdateDevice(ctx, id, change)
}

// DeleteDevice delegates to D.
func (c Compose) DeleteDevice(ctx context.Context, id string) error { return c.D.DeleteDevice(ctx, id) }

// DropStream delegates to S when it is a StreamDropper, and does nothing
// otherwise.
func (c Compose) DropStream(ctx context.Context, id string) error {
	if d, ok := c.S.(StreamDropper); ok {
		return d.DropStream(ctx, id)
	}
	return nil
}

// Append delegates to S.
func (c Compose) Append(ctx context.Context, e []Entry) ([]Position, error) {
	return c.S.Append(ctx, e)
}

// ReadStream delegates to S.
func (c Compose) ReadStream(ctx context.Context, id string, epoch, since uint64, limit int) (Page, error) {
	return c.S.ReadStream(ctx, id, epoch, since, limit)
}

// Advance delegates to S.
func (c Compose) Advance(ctx context.Context, id string, m Mark, through uint64) ([]Message, error) {
	return c.S.Advance(ctx, id, m, through)
}

// Watermark delegates to S.
func (c Compose) Watermark(ctx context.Context, id string, m Mark) (uint64, error) {
	return c.S.Watermark(ctx, id, m)
}

// CreatePush delegates to P.
func (c Compose) CreatePush(ctx context.Context, p *Push, key string) (string, error) {
	return c.P.CreatePush(ctx, p, key)
}

// Push delegates to P.
func (c Compose) Push(ctx context.Context, id string) (*Push, error) { return c.P.Push(ctx, id) }

// AddCounts delegates to P.
func (c Compose) AddCounts(ctx context.Context, id string, d Counts) error {
	return c.P.AddCounts(ctx, id, d)
}

// FinishPush delegates to P.
func (c Compose) FinishPush(ctx context.Context, id string, counts Counts) error {
	return c.P.FinishPush(ctx, id, counts)
}

// PendingPushes delegates to P.
func (c Compose) PendingPushes(ctx context.Context, limit int) ([]string, error) {
	return c.P.PendingPushes(ctx, limit)
}

// DuePushes delegates to P.
func (c Compose) DuePushes(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return c.P.DuePushes(ctx, now, limit)
}

// EndSchedule delegates to P.
func (c Compose) EndSchedule(ctx context.Context, id, to string) (bool, error) {
	return c.P.EndSchedule(ctx, id, to)
}

// CountEngagement delegates to P when it is an Engagements, and returns
// ErrUnsupported otherwise.
func (c Compose) CountEngagement(ctx context.Context, pushID, deviceID, kind string) (bool, error) {
	if e, ok := c.P.(Engagements); ok {
		return e.CountEngagement(ctx, pushID, deviceID, kind)
	}
	return false, ErrUnsupported
}

// PushIDsByApp delegates to P when it is a PushLister, and returns
// ErrUnsupported otherwise.
func (c Compose) PushIDsByApp(ctx context.Context, appID, before string, limit int) ([]string, error) {
	if l, ok := c.P.(PushLister); ok {
		return l.PushIDsByApp(ctx, appID, before, limit)
	}
	return nil, ErrUnsupported
}

// LeasePush delegates to P when it leases pushes; otherwise it does
// nothing: a push store of one process has one gateway.
func (c Compose) LeasePush(ctx context.Context, id string, until time.Time) error {
	if l, ok := c.P.(RoutingLeases); ok {
		return l.LeasePush(ctx, id, until)
	}
	return nil
}

// PushLease delegates to P when it leases pushes; otherwise no push is
// leased.
func (c Compose) PushLease(ctx context.Context, id string) (time.Time, error) {
	if l, ok := c.P.(RoutingLeases); ok {
		return l.PushLease(ctx, id)
	}
	return time.Time{}, nil
}

// CreateCampaign delegates to K.
func (c Compose) CreateCampaign(ctx context.Context, k *Campaign) error {
	return c.K.CreateCampaign(ctx, k)
}

// Campaign delegates to K.
func (c Compose) Campaign(ctx context.Context, id string) (*Campaign, error) {
	return c.K.Campaign(ctx, id)
}

// CampaignsByApp delegates to K.
func (c Compose) CampaignsByApp(ctx context.Context, appID, after string, limit int) ([]*Campaign, error) {
	return c.K.CampaignsByApp(ctx, appID, after, limit)
}

// UpdateCampaign delegates to K.
func (c Compose) UpdateCampaign(ctx context.Context, k *Campaign) error {
	return c.K.UpdateCampaign(ctx, k)
}

// CreateUser delegates to U.
func (c Compose) CreateUser(ctx context.Context, u *User) error { return c.U.CreateUser(ctx, u) }

// User delegates to U.
func (c Compose) User(ctx context.Context, id string) (*User, error) { return c.U.User(ctx, id) }

// UserByEmail delegates to U.
func (c Compose) UserByEmail(ctx context.Context, email string) (*User, error) {
	return c.U.UserByEmail(ctx, email)
}

// ListUsers delegates to U.
func (c Compose) ListUsers(ctx context.Context, after string, limit int) ([]*User, error) {
	return c.U.ListUsers(ctx, after, limit)
}

// UpdateUser delegates to U.
func (c Compose) UpdateUser(ctx context.Context, u *User) error { return c.U.UpdateUser(ctx, u) }

// DeleteUser delegates to U.
func (c Compose) DeleteUser(ctx context.Context, id string) error { return c.U.DeleteUser(ctx, id) }
