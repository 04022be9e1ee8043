package tiered

import (
	"context"
	"fmt"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// PutDevice writes a device to L2 first, the system of record, and returns
// its error if that fails. Then it writes the new value to L1 (replacing
// what is there, with L1TTL) and drops the device from L0 (see publish);
// other nodes that read the device from L1 are told by Redis to drop their
// copies. A failed L1 shard does not fail the call (L2 has the value); it
// is counted in push_store_tier_degraded_total, and the shard may serve
// its older value until L1TTL if it comes back with its data. The L1 and
// L0 updates run even when ctx ends after the L2 write, so the tiers never
// keep a value older than L2's for long.
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

// UpdateDevice changes a device in L2, which makes the change atomic
// against every other writer, then puts the result into L1 and L0 as
// PutDevice does. On error the device leaves L1 and L0.
func (t *Tiered) UpdateDevice(ctx context.Context, id string, change func(*store.Device) bool) (*store.Device, error) {
	if id == "" {
		return nil, fmt.Errorf("tiered: update device: empty id")
	}
	unlock := t.locks.lock(t.DeviceKey(id))
	defer unlock()
	d, err := t.l2.UpdateDevice(ctx, id, change)
	if err != nil {
		t.forget(context.WithoutCancel(ctx), []*store.Device{{ID: id}})
		return nil, fmt.Errorf("tiered: update device: %w", err)
	}
	t.publish(context.WithoutCancel(ctx), []*store.Device{d})
	return d, nil
}

// DeleteDevice removes a device from L2, then drops it from L1 and L0;
// other nodes that read it from L1 are told by Redis to drop their copies,
// as for PutDevice.
func (t *Tiered) DeleteDevice(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("tiered: delete device: empty id")
	}
	unlock := t.locks.lock(t.DeviceKey(id))
	defer unlock()
	err := t.l2.DeleteDevice(ctx, id)
	// Even when L2 failed the delete may have landed: drop the copies.
	t.forget(context.WithoutCancel(ctx), []*store.Device{{ID: id}})
	if err != nil {
		return fmt.Errorf("tiered: delete device: %w", err)
	}
	return nil
}

// tracked reports whether L0 hears of other nodes' writes through tracked
// L1 reads.
func (t *Tiered) tracked() bool { return t.l1 != nil && !t.cfg.NoTracking }

// publish writes values already in L2 to L1, in one pipeline per shard,
// and updates L0. The caller holds the devices' stripes.
//
// With tracking, the devices leave L0 rather than take the new values; the
// next read on this node puts them back from a tracked L1 read. Redis
// reports a change of a key only to the clients that read it since its
// previous change, and only once. This node's own SET ends its read of the
// key (Redis pushes the key to this node too, which drops it from L0), and
// a node that only wrote a device never read it, so a value put into L0
// here would hear of no later write by another node until L0TTL: the bug
// this avoids. The alternatives fall short. NOLOOP stops Redis telling a
// client of its own writes but not forgetting its reads of those keys. A
// GET after the SET would register the key again, but the push for the SET
// itself moves the stripe generation at a moment this node cannot know (it
// may come on another connection), so a fill could not tell it from the
// push of another node's write landing just after the GET. An invalidation
// channel of our own would tell every node of every write and be a second
// path to keep from losing messages. The cost here is one L1 round trip on
// this node's next read of the device.
//
// Without tracking, L0 takes the new values: no node hears of another's
// writes then, and L0TTL bounds the staleness everywhere alike.
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
		// Reads under way may hold the old value: keep it out of L0.
		t.locks.bump(key)
		if t.tracked() {
			t.l0.Delete(key)
			continue
		}
		if err := t.l0.Set(key, reccodec.EncodeDevice(d), t.cfg.L0TTL); err != nil {
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

// DeviceIDsByTags asks L2, which keeps the tag index when it is a
// store.TagIndex; otherwise it returns store.ErrUnsupported, wrapped.
func (t *Tiered) DeviceIDsByTags(ctx context.Context, appID string, tags []string, after string, limit int) ([]string, error) {
	ti, ok := t.l2.(store.TagIndex)
	if !ok {
		return nil, fmt.Errorf("tiered: device ids by tags: L2 %T: %w", t.l2, store.ErrUnsupported)
	}
	ids, err := ti.DeviceIDsByTags(ctx, appID, tags, after, limit)
	if err != nil {
		return nil, fmt.Errorf("tiered: device ids by tags: %w", err)
	}
	return ids, nil
}

// DeviceIDsByApp asks L2, which keeps the index of an app's devices when
// it is a store.TagIndex; otherwise it returns store.ErrUnsupported,
// wrapped.
func (t *Tiered) DeviceIDsByApp(ctx context.Context, appID string, after string, limit int) ([]string, error) {
	ti, ok := t.l2.(store.TagIndex)
	if !ok {
		return nil, fmt.Errorf("tiered: device ids by app: L2 %T: %w", t.l2, store.ErrUnsupported)
	}
	ids, err := ti.DeviceIDsByApp(ctx, appID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("tiered: device ids by app: %w", err)
	}
	return ids, nil
}

// DeviceIDsByAlias asks L2, which keeps the alias index.
func (t *Tiered) DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error) {
	ids, err := t.l2.DeviceIDsByAlias(ctx, appID, aliases)
	if err != nil {
		return nil, fmt.Errorf("tiered: device ids by alias: %w", err)
	}
	return ids, nil
}
