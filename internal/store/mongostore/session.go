package mongostore

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/mopush/mopush/internal/store"
)

var (
	_ store.Apps        = (*Session)(nil)
	_ store.Pushes      = (*Session)(nil)
	_ store.Devices     = (*Session)(nil)
	_ store.TagIndex    = (*Session)(nil)
	_ store.TagIndex    = (*Store)(nil)
	_ store.Engagements = (*Session)(nil)
	_ store.Engagements = (*Store)(nil)
	_ store.PushLister  = (*Session)(nil)
	_ store.PushLister  = (*Store)(nil)
	_ store.Campaigns   = (*Session)(nil)
	_ store.Users       = (*Session)(nil)
)

// Session is a lazy proxy session: the view of a Store that one request
// opens, uses and closes. It holds no connection. Each call borrows a
// pooled connection for the instant of its command and gives it back before
// returning, so a request that spends most of its time elsewhere (waiting
// for a vendor, rendering, queueing) costs the database nothing between its
// calls, and the number of connections follows the number of commands in
// flight, not the number of open requests.
//
// A Session is safe for concurrent use. Close is idempotent; calls after it
// return ErrSessionClosed. It is not a MongoDB client session: it carries no
// transaction or causal-consistency state, which FerretDB could not serve.
type Session struct {
	s      *Store
	closed atomic.Bool
}

// Session opens a session on the store. It does no I/O and cannot fail.
func (s *Store) Session() *Session {
	return &Session{s: s}
}

// Close ends the session. It holds nothing, so there is nothing to release;
// calling it again does nothing. It always returns nil.
func (ss *Session) Close() error {
	ss.closed.Store(true)
	return nil
}

// Closed reports whether Close was called.
func (ss *Session) Closed() bool { return ss.closed.Load() }

// check returns ErrSessionClosed after Close.
func (ss *Session) check() error {
	if ss.closed.Load() {
		return ErrSessionClosed
	}
	return nil
}

// CreateApp is Store.CreateApp.
func (ss *Session) CreateApp(ctx context.Context, a *store.App) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.CreateApp(ctx, a)
}

// AppByKey is Store.AppByKey.
func (ss *Session) AppByKey(ctx context.Context, key string) (*store.App, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.AppByKey(ctx, key)
}

// AppByID is Store.AppByID.
func (ss *Session) AppByID(ctx context.Context, id string) (*store.App, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.AppByID(ctx, id)
}

// ListApps is Store.ListApps.
func (ss *Session) ListApps(ctx context.Context, after string, limit int) ([]*store.App, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.ListApps(ctx, after, limit)
}

// UpdateSettings is Store.UpdateSettings.
func (ss *Session) UpdateSettings(ctx context.Context, appID string, st store.Settings) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.UpdateSettings(ctx, appID, st)
}

// PutDevice is Store.PutDevice.
func (ss *Session) PutDevice(ctx context.Context, d *store.Device) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.PutDevice(ctx, d)
}

// UpdateDevice is Store.UpdateDevice.
func (ss *Session) UpdateDevice(ctx context.Context, id string, change func(*store.Device) bool) (*store.Device, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.UpdateDevice(ctx, id, change)
}

// DeleteDevice is Store.DeleteDevice.
func (ss *Session) DeleteDevice(ctx context.Context, id string) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.DeleteDevice(ctx, id)
}

// Devices is Store.Devices.
func (ss *Session) Devices(ctx context.Context, ids []string) ([]*store.Device, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.Devices(ctx, ids)
}

// DeviceIDsByAlias is Store.DeviceIDsByAlias.
func (ss *Session) DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.DeviceIDsByAlias(ctx, appID, aliases)
}

// DeviceIDsByTags is Store.DeviceIDsByTags.
func (ss *Session) DeviceIDsByTags(ctx context.Context, appID string, tags []string, after string, limit int) ([]string, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.DeviceIDsByTags(ctx, appID, tags, after, limit)
}

// DeviceIDsByApp is Store.DeviceIDsByApp.
func (ss *Session) DeviceIDsByApp(ctx context.Context, appID string, after string, limit int) ([]string, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.DeviceIDsByApp(ctx, appID, after, limit)
}

// CreatePush is Store.CreatePush.
func (ss *Session) CreatePush(ctx context.Context, p *store.Push, idemKey string) (string, error) {
	if err := ss.check(); err != nil {
		return "", err
	}
	return ss.s.CreatePush(ctx, p, idemKey)
}

// Push is Store.Push.
func (ss *Session) Push(ctx context.Context, id string) (*store.Push, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.Push(ctx, id)
}

// AddCounts is Store.AddCounts.
func (ss *Session) AddCounts(ctx context.Context, id string, delta store.Counts) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.AddCounts(ctx, id, delta)
}

// FinishPush is Store.FinishPush.
func (ss *Session) FinishPush(ctx context.Context, id string, counts store.Counts) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.FinishPush(ctx, id, counts)
}

// PendingPushes is Store.PendingPushes.
func (ss *Session) PendingPushes(ctx context.Context, limit int) ([]string, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.PendingPushes(ctx, limit)
}

// LeasePush is Store.LeasePush.
func (ss *Session) LeasePush(ctx context.Context, id string, until time.Time) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.LeasePush(ctx, id, until)
}

// PushLease is Store.PushLease.
func (ss *Session) PushLease(ctx context.Context, id string) (time.Time, error) {
	if err := ss.check(); err != nil {
		return time.Time{}, err
	}
	return ss.s.PushLease(ctx, id)
}

// PushIDsByApp is Store.PushIDsByApp.
func (ss *Session) PushIDsByApp(ctx context.Context, appID, before string, limit int) ([]string, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.PushIDsByApp(ctx, appID, before, limit)
}

// DuePushes is Store.DuePushes.
func (ss *Session) DuePushes(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.DuePushes(ctx, now, limit)
}

// EndSchedule is Store.EndSchedule.
func (ss *Session) EndSchedule(ctx context.Context, id, to string) (bool, error) {
	if err := ss.check(); err != nil {
		return false, err
	}
	return ss.s.EndSchedule(ctx, id, to)
}

// CountEngagement is Store.CountEngagement.
func (ss *Session) CountEngagement(ctx context.Context, pushID, deviceID, kind string) (bool, error) {
	if err := ss.check(); err != nil {
		return false, err
	}
	return ss.s.CountEngagement(ctx, pushID, deviceID, kind)
}

// CreateCampaign is Store.CreateCampaign.
func (ss *Session) CreateCampaign(ctx context.Context, c *store.Campaign) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.CreateCampaign(ctx, c)
}

// Campaign is Store.Campaign.
func (ss *Session) Campaign(ctx context.Context, id string) (*store.Campaign, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.Campaign(ctx, id)
}

// CampaignsByApp is Store.CampaignsByApp.
func (ss *Session) CampaignsByApp(ctx context.Context, appID, after string, limit int) ([]*store.Campaign, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.CampaignsByApp(ctx, appID, after, limit)
}

// UpdateCampaign is Store.UpdateCampaign.
func (ss *Session) UpdateCampaign(ctx context.Context, c *store.Campaign) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.UpdateCampaign(ctx, c)
}

// CreateUser is Store.CreateUser.
func (ss *Session) CreateUser(ctx context.Context, u *store.User) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.CreateUser(ctx, u)
}

// User is Store.User.
func (ss *Session) User(ctx context.Context, id string) (*store.User, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.User(ctx, id)
}

// UserByEmail is Store.UserByEmail.
func (ss *Session) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.UserByEmail(ctx, email)
}

// ListUsers is Store.ListUsers.
func (ss *Session) ListUsers(ctx context.Context, after string, limit int) ([]*store.User, error) {
	if err := ss.check(); err != nil {
		return nil, err
	}
	return ss.s.ListUsers(ctx, after, limit)
}

// UpdateUser is Store.UpdateUser.
func (ss *Session) UpdateUser(ctx context.Context, u *store.User) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.UpdateUser(ctx, u)
}

// DeleteUser is Store.DeleteUser.
func (ss *Session) DeleteUser(ctx context.Context, id string) error {
	if err := ss.check(); err != nil {
		return err
	}
	return ss.s.DeleteUser(ctx, id)
}
