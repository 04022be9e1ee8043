package redisstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/rueidis"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/reccodec"
)

// PutDevice creates or replaces a device with no expiry and moves it in
// the alias index. The record and its alias entry change atomically on the
// device's shard; the alias sets, which may live on other shards, follow
// (see DeviceIDsByAlias for how a stale set member is ignored). On error
// the call may have been applied in part; repeating it completes it.
func (s *Store) PutDevice(ctx context.Context, d *store.Device) error {
	return s.PutDevices(ctx, []*store.Device{d})
}

// PutDevices is PutDevice for many devices at once: one pipeline of
// record scripts per shard, all shards at once, then one pipeline of alias
// set changes per shard. A device given twice ends as its last value. On
// error some devices may have been written; a *ShardError names the
// positions of the devices whose shards failed.
func (s *Store) PutDevices(ctx context.Context, devs []*store.Device) error {
	entries := make([]string, len(devs))
	for i, d := range devs {
		if d.ID == "" {
			return fmt.Errorf("redisstore: put device %d: empty id", i)
		}
		if d.Alias != "" {
			entries[i] = aliasEntry(d.AppID, d.Alias)
		}
	}
	olds := make([]string, len(devs))
	err := s.fan(ctx, "put devices", len(devs), func(i int) string { return devs[i].ID },
		func(ctx context.Context, sc *shardConn, pos []int) error {
			calls := make([]call, len(pos))
			for j, p := range pos {
				calls[j] = call{
					keys: []string{s.deviceKey(devs[p].ID, sufDevice), s.deviceKey(devs[p].ID, sufAlias)},
					args: []string{rueidis.BinaryString(reccodec.EncodeDevice(devs[p])), entries[p]},
				}
			}
			for j, r := range s.sc.putDevice.execMulti(ctx, sc.rdb, calls) {
				old, err := r.ToString()
				if err != nil && !rueidis.IsRedisNil(err) {
					return err
				}
				olds[pos[j]] = old
			}
			return nil
		})
	if err != nil {
		return err
	}
	var ops []aliasOp
	for i, d := range devs {
		ops = moveAlias(ops, i, d, olds[i], entries[i])
	}
	err = s.applyAlias(ctx, ops)
	if se, ok := err.(*ShardError); ok {
		for i, f := range se.Failures {
			devPos := make([]int, 0, len(f.Positions))
			for _, p := range f.Positions {
				devPos = append(devPos, ops[p].dev)
			}
			slices.Sort(devPos)
			se.Failures[i].Positions = slices.Compact(devPos)
		}
	}
	return err
}

// maxUpdateAttempts bounds the reads of one UpdateDevice that lost a race
// with another write of the device.
const maxUpdateAttempts = 16

// UpdateDevice changes a device in place: it reads the device, and
// ReplaceDevices writes the changed one only while the record is still the
// one read (else it reads again), moving its alias entry and alias sets.
// After maxUpdateAttempts lost races it fails with store.ErrConflict.
func (s *Store) UpdateDevice(ctx context.Context, id string, change func(*store.Device) bool) (*store.Device, error) {
	if id == "" {
		return nil, fmt.Errorf("redisstore: update device: empty id")
	}
	for range maxUpdateAttempts {
		devs, err := s.Devices(ctx, []string{id})
		if err != nil {
			return nil, err
		}
		old := devs[0]
		if old == nil {
			return nil, fmt.Errorf("redisstore: update device %q: %w", id, store.ErrNotFound)
		}
		d := old.Clone()
		if !change(d) {
			return old, nil
		}
		if d.ID != id {
			return nil, fmt.Errorf("redisstore: update device %q: the change gave it id %q", id, d.ID)
		}
		stale, err := s.ReplaceDevices(ctx, []*store.Device{old}, []*store.Device{d})
		if err != nil {
			return nil, err
		}
		if len(stale) == 0 {
			return d, nil
		}
	}
	return nil, fmt.Errorf("redisstore: update device %q: %d writes raced it: %w", id, maxUpdateAttempts, store.ErrConflict)
}

// ReplaceDevices writes news[i] where the device stored still is olds[i]
// (as their encodings compare), by the script UpdateDevice uses: one
// pipeline per shard, all shards at once, then the alias set changes of
// those written, as in PutDevices. It returns the positions it did not
// write: devices written or deleted since olds were read. Each id may
// appear once. On error some devices may have been written.
func (s *Store) ReplaceDevices(ctx context.Context, olds, news []*store.Device) ([]int, error) {
	if len(olds) != len(news) {
		return nil, fmt.Errorf("redisstore: replace devices: %d read, %d new", len(olds), len(news))
	}
	entries := make([]string, len(news))
	for i, d := range news {
		if d.ID == "" || olds[i] == nil || olds[i].ID != d.ID {
			return nil, fmt.Errorf("redisstore: replace devices: device %d has no id, or not that of its old version", i)
		}
		if d.Alias != "" {
			entries[i] = aliasEntry(d.AppID, d.Alias)
		}
	}
	written := make([]bool, len(news))
	prev := make([]string, len(news))
	err := s.fan(ctx, "replace devices", len(news), func(i int) string { return news[i].ID },
		func(ctx context.Context, sc *shardConn, pos []int) error {
			calls := make([]call, len(pos))
			for j, p := range pos {
				calls[j] = call{
					keys: []string{s.deviceKey(news[p].ID, sufDevice), s.deviceKey(news[p].ID, sufAlias)},
					args: []string{rueidis.BinaryString(reccodec.EncodeDevice(olds[p])),
						rueidis.BinaryString(reccodec.EncodeDevice(news[p])), entries[p]},
				}
			}
			for j, r := range s.sc.updateDevice.execMulti(ctx, sc.rdb, calls) {
				res, err := r.ToArray()
				if err != nil {
					return err
				}
				if len(res) != 2 {
					return fmt.Errorf("%w: replace device: %d values", errBadReply, len(res))
				}
				done, err := res[0].AsInt64()
				if err != nil {
					return err
				}
				if done == 0 {
					continue
				}
				written[pos[j]] = true
				if prev[pos[j]], err = res[1].ToString(); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	var ops []aliasOp
	var stale []int
	for i, d := range news {
		if !written[i] {
			stale = append(stale, i)
			continue
		}
		ops = moveAlias(ops, i, d, prev[i], entries[i])
	}
	return stale, s.applyAlias(ctx, ops)
}

// DeleteDevice removes a device. The record and its alias entry go
// atomically on the device's shard, then the device leaves its alias set,
// which may live on another shard. Deleting a missing device is not an
// error; on error the call may have been applied in part, and repeating
// it completes it.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("redisstore: delete device: empty id")
	}
	var old string
	err := s.fan(ctx, "delete device", 1, func(int) string { return id },
		func(ctx context.Context, sc *shardConn, _ []int) error {
			calls := []call{{keys: []string{s.deviceKey(id, sufDevice), s.deviceKey(id, sufAlias)}}}
			r := s.sc.deleteDevice.execMulti(ctx, sc.rdb, calls)[0]
			v, err := r.ToString()
			if err != nil && !rueidis.IsRedisNil(err) {
				return err
			}
			old = v
			return nil
		})
	if err != nil || old == "" {
		return err
	}
	app, alias := splitEntry(old)
	return s.applyAlias(ctx, []aliasOp{{id: id, app: app, alias: alias}})
}

// aliasOp is one change to an alias set: device id joins or leaves the
// set of app and alias. dev is the device's position in the request.
type aliasOp struct {
	dev        int
	id         string
	app, alias string
	add        bool
}

// moveAlias appends to ops the alias set changes of device d, at position
// dev of a request, written with alias entry entry over entry prev: it
// leaves the set of prev when that differs, and joins (again) the set of
// entry.
func moveAlias(ops []aliasOp, dev int, d *store.Device, prev, entry string) []aliasOp {
	if prev != "" && prev != entry {
		app, alias := splitEntry(prev)
		ops = append(ops, aliasOp{dev: dev, id: d.ID, app: app, alias: alias})
	}
	if entry != "" {
		ops = append(ops, aliasOp{dev: dev, id: d.ID, app: d.AppID, alias: d.Alias, add: true})
	}
	return ops
}

// applyAlias runs alias set changes, one pipeline per shard, in the order
// given within each set (all changes to one set go to one shard).
func (s *Store) applyAlias(ctx context.Context, ops []aliasOp) error {
	return s.fan(ctx, "update alias index", len(ops), func(i int) string {
		return aliasRingKey(ops[i].app, ops[i].alias)
	}, func(ctx context.Context, sc *shardConn, pos []int) error {
		cmds := make([]rueidis.Completed, len(pos))
		for j, p := range pos {
			k := s.aliasKey(ops[p].app, ops[p].alias)
			if ops[p].add {
				cmds[j] = sc.rdb.B().Sadd().Key(k).Member(ops[p].id).Build()
			} else {
				cmds[j] = sc.rdb.B().Srem().Key(k).Member(ops[p].id).Build()
			}
		}
		return firstError(sc.rdb.DoMulti(ctx, cmds...))
	})
}

func splitEntry(e string) (app, alias string) {
	for i := range len(e) {
		if e[i] == 0 {
			return e[:i], e[i+1:]
		}
	}
	return e, ""
}

// Devices returns the devices with the ids, by position; a missing device
// (or an empty id) is nil. It sends one pipeline of GETs to each shard
// that holds some of the ids, all at once. When some shards fail it
// returns the devices of the others together with a *ShardError that lists
// the failed positions. With Config.Invalidator set the reads, of missing
// keys too, are tracked.
func (s *Store) Devices(ctx context.Context, ids []string) ([]*store.Device, error) {
	out := make([]*store.Device, len(ids))
	err := s.fan(ctx, "read devices", len(ids), func(i int) string { return ids[i] },
		func(ctx context.Context, sc *shardConn, pos []int) error {
			pos = nonEmpty(ids, pos)
			if len(pos) == 0 {
				return nil
			}
			cmds := make([]rueidis.Completed, len(pos))
			for j, p := range pos {
				cmds[j] = sc.rdb.B().Get().Key(s.DeviceKey(ids[p])).Build()
			}
			for j, r := range sc.rdb.DoMulti(ctx, cmds...) {
				d, err := deviceResult(r)
				if err != nil {
					return err
				}
				out[pos[j]] = d
			}
			return nil
		})
	return out, err
}

// deviceResult decodes one GET reply; nil for a missing key.
func deviceResult(r rueidis.RedisResult) (*store.Device, error) {
	b, err := r.AsBytes()
	if rueidis.IsRedisNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := reccodec.DecodeDevice(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadReply, err)
	}
	return d, nil
}

// nonEmpty returns the positions of pos whose id is not empty.
func nonEmpty(ids []string, pos []int) []int {
	for _, p := range pos {
		if ids[p] == "" {
			out := make([]int, 0, len(pos))
			for _, q := range pos {
				if ids[q] != "" {
					out = append(out, q)
				}
			}
			return out
		}
	}
	return pos
}

// DeviceIDsByAlias returns the ids of an app's devices that have one of
// the aliases, each once, in no particular order. It reads the alias sets
// (one pipeline per shard), then checks each member's alias entry on its
// own shard (one pipeline per shard again), so that a member left behind by
// an interrupted or racing PutDevice is not returned. Such members stay in
// the set: removing them here could race with a PutDevice that adds the
// device back.
func (s *Store) DeviceIDsByAlias(ctx context.Context, appID string, aliases []string) ([]string, error) {
	want := make(map[string]bool, len(aliases))
	var list []string
	for _, a := range aliases {
		if a != "" && !want[a] {
			want[a] = true
			list = append(list, a)
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	members := make([][]string, len(list))
	err := s.fan(ctx, "read alias index", len(list), func(i int) string { return aliasRingKey(appID, list[i]) },
		func(ctx context.Context, sc *shardConn, pos []int) error {
			cmds := make([]rueidis.Completed, len(pos))
			for j, p := range pos {
				cmds[j] = sc.rdb.B().Smembers().Key(s.aliasKey(appID, list[p])).Build()
			}
			for j, r := range sc.rdb.DoMulti(ctx, cmds...) {
				m, err := r.AsStrSlice()
				if err != nil {
					return err
				}
				members[pos[j]] = m
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	var ids []string
	seen := make(map[string]bool)
	for _, m := range members {
		for _, id := range m {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return s.checkAliases(ctx, appID, ids, want)
}

// checkAliases keeps the ids whose alias entry names appID and one of the
// wanted aliases.
func (s *Store) checkAliases(ctx context.Context, appID string, ids []string, want map[string]bool) ([]string, error) {
	keep := make([]bool, len(ids))
	err := s.fan(ctx, "check alias entries", len(ids), func(i int) string { return ids[i] },
		func(ctx context.Context, sc *shardConn, pos []int) error {
			cmds := make([]rueidis.Completed, len(pos))
			for j, p := range pos {
				cmds[j] = sc.rdb.B().Get().Key(s.deviceKey(ids[p], sufAlias)).Build()
			}
			for j, r := range sc.rdb.DoMulti(ctx, cmds...) {
				e, err := r.ToString()
				if rueidis.IsRedisNil(err) {
					continue
				}
				if err != nil {
					return err
				}
				app, alias := splitEntry(e)
				keep[pos[j]] = app == appID && want[alias]
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		if keep[i] {
			out = append(out, id)
		}
	}
	return out, nil
}

// FillDevices stores devices as cache entries that expire after ttl, each
// only where its key is absent (SET NX PX), so that a value read from the
// system of record never overwrites a newer one written meanwhile. It
// sends one pipeline per shard, all at once, and does not touch the alias
// index. On partial failure it returns a *ShardError.
func (s *Store) FillDevices(ctx context.Context, devs []*store.Device, ttl time.Duration) error {
	return s.setDevices(ctx, "fill devices", devs, ttl, true)
}

// SetDevices stores devices as cache entries that expire after ttl,
// replacing what is there (SET PX): a write of newer values. Like
// FillDevices it sends one pipeline per shard and does not touch the alias
// index.
func (s *Store) SetDevices(ctx context.Context, devs []*store.Device, ttl time.Duration) error {
	return s.setDevices(ctx, "set devices", devs, ttl, false)
}

func (s *Store) setDevices(ctx context.Context, op string, devs []*store.Device, ttl time.Duration, nx bool) error {
	if ttl <= 0 {
		return fmt.Errorf("redisstore: %s: ttl %s", op, ttl)
	}
	return s.fan(ctx, op, len(devs), func(i int) string { return devs[i].ID },
		func(ctx context.Context, sc *shardConn, pos []int) error {
			cmds := make([]rueidis.Completed, len(pos))
			for j, p := range pos {
				set := sc.rdb.B().Set().Key(s.DeviceKey(devs[p].ID)).Value(rueidis.BinaryString(reccodec.EncodeDevice(devs[p])))
				if nx {
					cmds[j] = set.Nx().Px(ttl).Build()
				} else {
					cmds[j] = set.Px(ttl).Build()
				}
			}
			return firstError(sc.rdb.DoMulti(ctx, cmds...))
		})
}

// ForgetDevices deletes device records, one pipeline per shard; clients
// that track them are told to drop them. On partial failure it returns a
// *ShardError.
func (s *Store) ForgetDevices(ctx context.Context, ids []string) error {
	return s.fan(ctx, "forget devices", len(ids), func(i int) string { return ids[i] },
		func(ctx context.Context, sc *shardConn, pos []int) error {
			cmds := make([]rueidis.Completed, len(pos))
			for j, p := range pos {
				cmds[j] = sc.rdb.B().Del().Key(s.DeviceKey(ids[p])).Build()
			}
			return firstError(sc.rdb.DoMulti(ctx, cmds...))
		})
}

// firstError returns the first error among pipeline results; a nil reply
// (SET NX that did not set) is not one.
func firstError(rs []rueidis.RedisResult) error {
	for _, r := range rs {
		if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
			return err
		}
	}
	return nil
}
