package redisstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/redis/rueidis"

	"github.com/mopush/mopush/internal/store"
)

// Append appends the messages to their devices' streams and returns their
// positions by entry order. Each device's messages of the call go to one
// run of a Lua script on the device's shard, which takes the next sequence
// numbers, stores the messages and trims the stream atomically, so appends
// to one device are serialised and contiguous. All devices of one shard go
// in one pipeline, and the shards are written at once.
//
// Append returns once Redis has applied the scripts; how durable that is
// depends on the servers' persistence (see the package documentation).
// When a shard fails, Append returns a *ShardError and the appends to the
// other shards stand: a retry appends those messages again.
func (s *Store) Append(ctx context.Context, entries []store.Entry) ([]store.Position, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	devs, byDev, err := groupEntries(entries)
	if err != nil {
		return nil, err
	}
	pos := make([]store.Position, len(entries))
	maxLen := strconv.Itoa(s.cfg.MaxStreamLen)
	err = s.fan(ctx, "append", len(devs), func(i int) string { return devs[i] },
		func(ctx context.Context, sc *shardConn, idx []int) error {
			calls := make([]call, len(idx))
			for j, d := range idx {
				args := make([]string, 4, 4+len(byDev[d]))
				args[0], args[1] = maxLen, strconv.FormatUint(newEpoch(), 10)
				last, _ := s.appended.Get(devs[d])
				args[2], args[3] = strconv.FormatUint(last.Epoch, 10), strconv.FormatUint(last.Seq, 10)
				for _, e := range byDev[d] {
					m, err := encodeMessage(entries[e].Message)
					if err != nil {
						return err
					}
					args = append(args, m)
				}
				calls[j] = call{keys: s.streamKeys(devs[d], sufOutcomes), args: args}
			}
			for j, r := range s.sc.append.execMulti(ctx, sc.rdb, calls) {
				epoch, first, renewed, err := appendResult(r)
				if err != nil {
					return err
				}
				d := idx[j]
				if renewed {
					s.renewed(ctx, sc, devs[d], epoch)
				}
				for k, e := range byDev[d] {
					pos[e] = store.Position{Epoch: epoch, Seq: first + uint64(k)}
				}
				s.remember(devs[d], store.Position{Epoch: epoch, Seq: first + uint64(len(byDev[d])) - 1})
			}
			return nil
		})
	if se, ok := err.(*ShardError); ok {
		for i, f := range se.Failures {
			se.Failures[i].Positions = entryPositions(f.Positions, byDev)
		}
	}
	if err != nil {
		return nil, err
	}
	return pos, nil
}

// entryPositions turns device indices into the sorted positions of their
// entries.
func entryPositions(devIdx []int, byDev [][]int) []int {
	var out []int
	for _, d := range devIdx {
		out = append(out, byDev[d]...)
	}
	slices.Sort(out)
	return out
}

// groupEntries returns the distinct devices of entries in first-seen order
// and, for each, the positions of its entries.
func groupEntries(entries []store.Entry) ([]string, [][]int, error) {
	index := make(map[string]int)
	var devs []string
	var byDev [][]int
	for i, e := range entries {
		if e.DeviceID == "" {
			return nil, nil, fmt.Errorf("redisstore: append: entry %d has no device id", i)
		}
		d, ok := index[e.DeviceID]
		if !ok {
			d = len(devs)
			index[e.DeviceID] = d
			devs = append(devs, e.DeviceID)
			byDev = append(byDev, nil)
		}
		byDev[d] = append(byDev[d], i)
	}
	return devs, byDev, nil
}

// streamKeys returns the head and message keys of a device, followed by
// the keys named by extra.
func (s *Store) streamKeys(id string, extra ...string) []string {
	keys := []string{s.deviceKey(id, sufStream), s.deviceKey(id, sufMessages)}
	for _, suf := range extra {
		keys = append(keys, s.deviceKey(id, suf))
	}
	return keys
}

// RenewEpoch moves a device's stream that went back in epoch (a reader
// found a message it had gone, or a position past its head) to a new epoch,
// keeping its messages, numbers and watermarks, and returns the stream's
// epoch afterwards: a device that read the lost messages then reads the
// stream again from its oldest message instead of taking later messages
// for the lost ones it holds. A stream in another epoch is left as it is
// (its epoch is returned); a missing one returns 0.
func (s *Store) RenewEpoch(ctx context.Context, deviceID string, epoch uint64) (uint64, error) {
	fresh := newEpoch()
	var now uint64
	sc := s.conn(deviceID)
	err := s.do(ctx, "renew", sc, func(ctx context.Context) error {
		r := s.sc.renew.exec(ctx, sc.rdb, []string{s.deviceKey(deviceID, sufStream)},
			[]string{strconv.FormatUint(epoch, 10), strconv.FormatUint(fresh, 10)})
		m, err := r.ToMessage()
		if err != nil {
			return err
		}
		now, err = uintOf(m)
		return err
	})
	if err != nil {
		return 0, err
	}
	if now == fresh {
		s.renewed(ctx, sc, deviceID, fresh)
	}
	return now, nil
}

// renewed counts and logs a stream moved to a new epoch.
func (s *Store) renewed(ctx context.Context, sc *shardConn, deviceID string, epoch uint64) {
	s.m.streamRenewed(sc.name)
	s.log.ErrorContext(ctx, "a device stream went back: the shard lost appends it had applied; "+
		"the stream goes on under a new epoch, and its device reads it again from its oldest message",
		"shard", sc.name, "device_id", deviceID, "epoch", epoch)
}

// ReadTarget reads, in one round trip, what the fallback check of message
// seq of a device's stream needs: the stream's epoch and head, the push at
// seq in the current epoch (expired or not), the ack watermark and the
// outcome recorded at seq.
func (s *Store) ReadTarget(ctx context.Context, deviceID string, seq uint64) (store.Target, error) {
	var t store.Target
	sc := s.conn(deviceID)
	err := s.do(ctx, "read target", sc, func(ctx context.Context) error {
		vals, err := s.sc.target.exec(ctx, sc.rdb, s.streamKeys(deviceID, sufOutcomes),
			[]string{strconv.FormatUint(seq, 10)}).ToArray()
		if err != nil {
			return err
		}
		if len(vals) != 5 {
			return fmt.Errorf("%w: read target returned %d values", errBadReply, len(vals))
		}
		if t.Epoch, err = uintOf(vals[0]); err != nil {
			return err
		}
		if t.Head, err = uintOf(vals[1]); err != nil {
			return err
		}
		if t.Acked, err = uintOf(vals[2]); err != nil {
			return err
		}
		if o, _ := vals[3].ToString(); o != "" {
			v, err := strconv.ParseUint(o, 10, 8)
			if err != nil || v >= uint64(outcomeCount) {
				return fmt.Errorf("%w: outcome %q", errBadReply, o)
			}
			t.Outcome = store.Outcome(v)
		}
		if j, _ := vals[4].ToString(); j != "" {
			m, err := decodeMessage([]byte(j), seq)
			if err != nil {
				return err
			}
			t.PushAt = m.PushID
		}
		return nil
	})
	return t, err
}

// remember keeps the last position this store appended at in a device's
// stream, for the append script to tell a stream that went back. Of two
// racing appends the lower may stay: that only makes the check weaker.
func (s *Store) remember(deviceID string, p store.Position) {
	if last, ok := s.appended.Get(deviceID); ok && last.Epoch == p.Epoch && last.Seq >= p.Seq {
		return
	}
	s.appended.Put(deviceID, p)
}

// appendResult decodes {epoch, first seq, renewed}.
func appendResult(r rueidis.RedisResult) (epoch, first uint64, renewed bool, err error) {
	vals, err := r.ToArray()
	if err != nil {
		return 0, 0, false, err
	}
	if len(vals) != 3 {
		return 0, 0, false, fmt.Errorf("%w: append returned %d values", errBadReply, len(vals))
	}
	if epoch, err = uintOf(vals[0]); err != nil {
		return 0, 0, false, err
	}
	if first, err = uintOf(vals[1]); err != nil {
		return 0, 0, false, err
	}
	flag, err := uintOf(vals[2])
	return epoch, first, flag == 1, err
}

// uintOf reads an unsigned number given as an integer or a decimal string.
func uintOf(m rueidis.RedisMessage) (uint64, error) {
	if m.IsInt64() {
		v, err := m.AsInt64()
		if err != nil || v < 0 {
			return 0, fmt.Errorf("%w: number %d", errBadReply, v)
		}
		return uint64(v), nil
	}
	s, err := m.ToString()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errBadReply, err)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: number %q", errBadReply, s)
	}
	return v, nil
}

// newEpoch returns a random nonzero epoch no larger than store.MaxEpoch.
// The append script uses it only when it starts a new stream.
func newEpoch() uint64 {
	for {
		if e := rand.Uint64() & store.MaxEpoch; e != 0 {
			return e
		}
	}
}

// ReadStream returns up to limit unexpired messages after since; see
// store.Streams for when the read restarts at the oldest retained message
// with Recovered false. One read-only script reads the head and the page
// at one point in time, skipping expired messages on the server.
func (s *Store) ReadStream(ctx context.Context, deviceID string, epoch, since uint64, limit int) (store.Page, error) {
	limit = max(limit, 0)
	var page store.Page
	sc := s.conn(deviceID)
	err := s.do(ctx, "read stream", sc, func(ctx context.Context) error {
		args := []string{
			strconv.FormatUint(epoch, 10),
			strconv.FormatUint(since, 10),
			strconv.Itoa(limit + 1),
			strconv.FormatInt(s.cfg.Now().UnixMicro(), 10),
		}
		var err error
		page, err = readResult(s.sc.read.exec(ctx, sc.rdb, s.streamKeys(deviceID), args))
		return err
	})
	if err != nil {
		return store.Page{}, err
	}
	if len(page.Messages) > limit {
		page.Messages, page.More = page.Messages[:limit], true
	}
	return page, nil
}

// readResult decodes {epoch, head, recovered, {seq, json, ...}}.
func readResult(r rueidis.RedisResult) (store.Page, error) {
	var p store.Page
	vals, err := r.ToArray()
	if err != nil {
		return p, err
	}
	if len(vals) != 4 {
		return p, fmt.Errorf("%w: read returned %d values", errBadReply, len(vals))
	}
	if p.Epoch, err = uintOf(vals[0]); err != nil {
		return p, err
	}
	if p.Head, err = uintOf(vals[1]); err != nil {
		return p, err
	}
	rec, err := uintOf(vals[2])
	if err != nil {
		return p, err
	}
	p.Recovered = rec == 1
	msgs, err := vals[3].ToArray()
	if err != nil || len(msgs)%2 != 0 {
		return p, fmt.Errorf("%w: read returned a bad message list", errBadReply)
	}
	for i := 0; i < len(msgs); i += 2 {
		seq, err := uintOf(msgs[i])
		if err != nil {
			return p, err
		}
		m, err := messageAt(msgs[i+1], seq)
		if err != nil {
			return p, err
		}
		p.Messages = append(p.Messages, m)
	}
	return p, nil
}

func messageAt(v rueidis.RedisMessage, seq uint64) (store.Message, error) {
	b, err := v.AsBytes()
	if err != nil {
		return store.Message{}, fmt.Errorf("%w: message %d: %v", errBadReply, seq, err)
	}
	return decodeMessage(b, seq)
}

// markField returns the head hash field of a watermark.
func markField(mark store.Mark) (string, error) {
	switch mark {
	case store.MarkSent:
		return "sent", nil
	case store.MarkAcked:
		return "acked", nil
	}
	return "", fmt.Errorf("redisstore: unknown watermark %d", mark)
}

// Advance moves a watermark forward, at most to the head, and returns the
// retained messages it newly covers, expired ones included, in one script
// run. The watermark lives with the stream: a stream that Redis loses
// loses its watermarks too, and the messages are covered again (at least
// once).
func (s *Store) Advance(ctx context.Context, deviceID string, mark store.Mark, through uint64) ([]store.Message, error) {
	field, err := markField(mark)
	if err != nil {
		return nil, err
	}
	var out []store.Message
	sc := s.conn(deviceID)
	err = s.do(ctx, "advance", sc, func(ctx context.Context) error {
		args := []string{field, strconv.FormatUint(min(through, store.MaxEpoch), 10)}
		var err error
		out, err = advanceResult(s.sc.advance.exec(ctx, sc.rdb, s.streamKeys(deviceID), args))
		return err
	})
	return out, err
}

// advanceResult decodes {} or {from, {json...}}.
func advanceResult(r rueidis.RedisResult) ([]store.Message, error) {
	from, msgs, err := fromAndList(r, "advance")
	if err != nil {
		return nil, err
	}
	var out []store.Message
	for i, v := range msgs {
		m, err := messageAt(v, from+uint64(i))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// fromAndList decodes a script's {} (nil, nil) or {from, {...}}: the
// sequence number of the first item, and the items.
func fromAndList(r rueidis.RedisResult, what string) (uint64, []rueidis.RedisMessage, error) {
	vals, err := r.ToArray()
	if err != nil || len(vals) == 0 {
		return 0, nil, err
	}
	if len(vals) != 2 {
		return 0, nil, fmt.Errorf("%w: %s returned %d values", errBadReply, what, len(vals))
	}
	from, err := uintOf(vals[0])
	if err != nil {
		return 0, nil, err
	}
	items, err := vals[1].ToArray()
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s returned a bad list", errBadReply, what)
	}
	return from, items, nil
}

// Watermark returns the current value of a watermark, 0 if it never moved.
func (s *Store) Watermark(ctx context.Context, deviceID string, mark store.Mark) (uint64, error) {
	field, err := markField(mark)
	if err != nil {
		return 0, err
	}
	var v uint64
	sc := s.conn(deviceID)
	err = s.do(ctx, "watermark", sc, func(ctx context.Context) error {
		r := sc.rdb.Do(ctx, sc.rdb.B().Hget().Key(s.deviceKey(deviceID, sufStream)).Field(field).Build())
		var err error
		v, err = optionalUint(r)
		return err
	})
	return v, err
}

// optionalUint decodes a decimal string reply, 0 for nil.
func optionalUint(r rueidis.RedisResult) (uint64, error) {
	m, err := r.ToMessage()
	if rueidis.IsRedisNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return uintOf(m)
}

// DropStream removes a device's stream: its head and watermarks, its
// messages and their outcomes, in one DEL on the device's shard.
func (s *Store) DropStream(ctx context.Context, deviceID string) error {
	if deviceID == "" {
		return fmt.Errorf("redisstore: drop stream: empty device id")
	}
	return s.fan(ctx, "drop stream", 1, func(int) string { return deviceID },
		func(ctx context.Context, sc *shardConn, _ []int) error {
			return sc.rdb.Do(ctx, sc.rdb.B().Del().Key(s.deviceKey(deviceID, sufStream),
				s.deviceKey(deviceID, sufMessages), s.deviceKey(deviceID, sufOutcomes)).Build()).Error()
		})
}
