package storetest

import (
	"context"

	"github.com/mopush/mopush/internal/store"
)

// Compose makes a store.Store of a backend that implements only some of the
// interfaces, for a Harness with Parts. The parts left nil must not be
// among the Parts the harness runs.
type Compose struct {
	A store.Apps
	D store.Devices
	S store.Streams
	P store.Pushes
	C store.Credentials
	O store.Outcomes
	// CloseFunc closes the backend; nil does nothing.
	CloseFunc func() error
}

var _ store.Store = Compose{}

// Close calls CloseFunc.
func (c Compose) Close() error {
	if c.CloseFunc == nil {
		return nil
	}
	return c.CloseFunc()
}

// CreateApp delegates to A.
func (c Compose) CreateApp(ctx context.Context, a *store.App) error { return c.A.CreateApp(ctx, a) }

// AppByKey delegates to A.
func (c Compose) AppByKey(ctx context.Context, key string) (*store.App, error) {
	return c.A.AppByKey(ctx, key)
}

// AppByID delegates to A.
func (c Compose) AppByID(ctx context.Context, id string) (*store.App, error) {
	return c.A.AppByID(ctx, id)
}

// UpdateSettings delegates to A.
func (c Compose) UpdateSettings(ctx context.Context, appID string, st store.Settings) error {
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
func (c Compose) SetOutcome(ctx context.Context, id string, seq uint64, o store.Outcome) (store.Outcome, bool, error) {
	return c.O.SetOutcome(ctx, id, seq, o)
}

// OutcomeOf delegates to O.
func (c Compose) OutcomeOf(ctx context.Context, id string, seq uint64) (store.Outcome, error) {
	return c.O.OutcomeOf(ctx, id, seq)
}

// PutDevice delegates to D.
func (c Compose) PutDevice(ctx context.Context, d *store.Device) error { return c.D.PutDevice(ctx, d) }

// Devices delegates to D.
func (c Compose) Devices(ctx context.Context, ids []string) ([]*store.Device, error) {
	return c.D.Devices(ctx, ids)
}

// DeviceIDsByAlias delegates to D.
func (c Compose) DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error) {
	return c.D.DeviceIDsByAlias(ctx, appID, aliases)
}

// Append delegates to S.
func (c Compose) Append(ctx context.Context, e []store.Entry) ([]store.Position, error) {
	return c.S.Append(ctx, e)
}

// ReadStream delegates to S.
func (c Compose) ReadStream(ctx context.Context, id string, epoch, since uint64, limit int) (store.Page, error) {
	return c.S.ReadStream(ctx, id, epoch, since, limit)
}

// Advance delegates to S.
func (c Compose) Advance(ctx context.Context, id string, m store.Mark, through uint64) ([]store.Message, error) {
	return c.S.Advance(ctx, id, m, through)
}

// Watermark delegates to S.
func (c Compose) Watermark(ctx context.Context, id string, m store.Mark) (uint64, error) {
	return c.S.Watermark(ctx, id, m)
}

// CreatePush delegates to P.
func (c Compose) CreatePush(ctx context.Context, p *store.Push, key string) (string, error) {
	return c.P.CreatePush(ctx, p, key)
}

// Push delegates to P.
func (c Compose) Push(ctx context.Context, id string) (*store.Push, error) { return c.P.Push(ctx, id) }

// AddCounts delegates to P.
func (c Compose) AddCounts(ctx context.Context, id string, d store.Counts) error {
	return c.P.AddCounts(ctx, id, d)
}

// FinishPush delegates to P.
func (c Compose) FinishPush(ctx context.Context, id string) error { return c.P.FinishPush(ctx, id) }

// PendingPushes delegates to P.
func (c Compose) PendingPushes(ctx context.Context, limit int) ([]string, error) {
	return c.P.PendingPushes(ctx, limit)
}
