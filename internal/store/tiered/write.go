package tiered

import (
	"context"
	"fmt"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/redisstore"
)

// PutDevice writes a device to L2 first, the system of record, and returns
// its error if that fails. Then it writes the new value to L1 (replacing
// what is there, with L1TTL) and to L0; other nodes that read the device
// from L1 are told by Redis to drop their copies. A failed L1 shard does
// not fail the call (L2 has the value); it is counted in
// push_store_tier_degraded_total, and the shard may serve its older value
// until L1TTL if it comes back with its data. The L1 and L0 updates run
// even when ctx ends after the L2 write, so the tiers never keep a value
// older than L2's for long.
func (t *Tiered) PutDevice(ctx context.Context, d *store.Device) error {
	if d.ID == "" {
		return fmt.Errorf("tiered: put device: empty id")
	}
	unlock := t.locks.lock(t.DeviceKey(d.ID))
	defer unlock()
	if err := t.l2.PutDevice(ctx, d); err != nil {
		// The write may have landed all the same: drop the older copies.
		t.forget(context.WithoutCancel(ctx), []*store.Device{d})
		return fmt.Errorf("tiered: put device: %w", err)
	}
	t.publish(context.WithoutCancel(ctx), []*store.Device{d})
	return nil
}

// publish writes values already in L2 to L1, in one pipeline per shard,
// and to L0. The caller holds the devices' stripes.
func (t *Tiered) publish(ctx context.Context, devs []*store.Device) {
	if len(devs) == 0 {
		return
	}
	if t.l1 != nil {
		if err := t.l1.SetDevices(ctx, devs, t.cfg.L1TTL); err != nil {
			t.l1Failed(err, devs)
		} else {
			t.l1Written(devs)
		}
	}
	for _, d := range devs {
		key := t.DeviceKey(d.ID)
		t.locks.bump(key)
		if err := t.l0.Set(key, redisstore.EncodeDevice(d), t.cfg.L0TTL); err != nil {
			t.log.Debug("l0 set failed", "error", err)
		}
	}
}

// forget drops devices from L1 and L0. The caller holds their stripes.
func (t *Tiered) forget(ctx context.Context, devs []*store.Device) {
	ids := make([]string, len(devs))
	for i, d := range devs {
		ids[i] = d.ID
	}
	if t.l1 != nil {
		if err := t.l1.ForgetDevices(ctx, ids); err != nil {
			t.l1Failed(err, devs)
		}
	}
	for _, id := range ids {
		key := t.DeviceKey(id)
		t.locks.bump(key)
		t.l0.Delete(key)
	}
}

// DeviceIDsByAlias asks L2, which keeps the alias index.
func (t *Tiered) DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error) {
	ids, err := t.l2.DeviceIDsByAlias(ctx, appID, aliases)
	if err != nil {
		return nil, fmt.Errorf("tiered: device ids by alias: %w", err)
	}
	return ids, nil
}
