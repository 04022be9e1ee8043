package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/mopush/mopush/internal/store"
)

// outcomeCount is how many outcome values exist (OutcomeNone included).
const outcomeCount = int(store.OutcomeNoChannel) + 1

// SetOutcome records o for message seq of a device's stream when o
// replaces the recorded outcome, in one script run on the device's shard,
// so of two racing calls exactly one sees the other's result. Outcomes of
// messages trimmed from the stream are deleted with them.
func (s *Store) SetOutcome(ctx context.Context, deviceID string, seq uint64, o store.Outcome) (store.Outcome, bool, error) {
	mask := replaceMask(o)
	var prev store.Outcome
	var set bool
	sc := s.conn(deviceID)
	err := s.do(ctx, "set outcome", sc, func(ctx context.Context) error {
		keys := []string{s.deviceKey(deviceID, sufOutcomes)}
		args := []string{strconv.FormatUint(seq, 10), strconv.Itoa(int(o)), mask}
		vals, err := s.sc.outcome.exec(ctx, sc.rdb, keys, args).AsIntSlice()
		if err != nil {
			return err
		}
		if len(vals) != 2 {
			return fmt.Errorf("%w: set outcome returned %d values", errBadReply, len(vals))
		}
		prev, set = store.Outcome(vals[0]), vals[1] == 1
		return nil
	})
	return prev, set, err
}

// replaceMask returns one character per possible previous outcome, '1'
// where o replaces it: the scripts' form of store.Outcome.Replaces.
func replaceMask(o store.Outcome) string {
	mask := make([]byte, outcomeCount)
	for prev := range mask {
		mask[prev] = '0'
		if o.Replaces(store.Outcome(prev)) {
			mask[prev] = '1'
		}
	}
	return string(mask)
}

// AdvanceAcked moves the ack watermark as Advance does and records each
// message it newly covers as acked (expired if it had expired at now)
// where that replaces the recorded outcome, in one script run on the
// device's shard: a crash can no longer leave the watermark moved and an
// outcome unrecorded, and a racing SetOutcome sees all of it or none.
func (s *Store) AdvanceAcked(ctx context.Context, deviceID string, through uint64, now time.Time) ([]store.Acked, error) {
	var out []store.Acked
	sc := s.conn(deviceID)
	err := s.do(ctx, "advance acked", sc, func(ctx context.Context) error {
		args := []string{strconv.FormatUint(min(through, store.MaxEpoch), 10), strconv.FormatInt(now.UnixMicro(), 10),
			strconv.Itoa(int(store.OutcomeAcked)), replaceMask(store.OutcomeAcked),
			strconv.Itoa(int(store.OutcomeExpired)), replaceMask(store.OutcomeExpired)}
		var err error
		out, err = ackResult(s.sc.ack.exec(ctx, sc.rdb, s.streamKeys(deviceID, sufOutcomes), args))
		return err
	})
	return out, err
}

// ackResult decodes {} or {from, {{json, outcome, prev, set}...}}.
func ackResult(r rueidis.RedisResult) ([]store.Acked, error) {
	from, items, err := fromAndList(r, "advance acked")
	if err != nil || items == nil {
		return nil, err
	}
	out := make([]store.Acked, len(items))
	for i, item := range items {
		seq := from + uint64(i)
		parts, err := item.ToArray()
		if err != nil || len(parts) != 4 {
			return nil, fmt.Errorf("%w: advance acked returned a bad entry for %d", errBadReply, seq)
		}
		m, err := messageAt(parts[0], seq)
		if err != nil {
			return nil, err
		}
		o, oerr := parts[1].AsInt64()
		prev, perr := parts[2].AsInt64()
		set, serr := parts[3].AsInt64()
		if oerr != nil || perr != nil || serr != nil || o != int64(store.OutcomeAcked) && o != int64(store.OutcomeExpired) ||
			prev < 0 || prev >= int64(outcomeCount) {
			return nil, fmt.Errorf("%w: advance acked returned a bad outcome for %d", errBadReply, seq)
		}
		out[i] = store.Acked{Message: m, Outcome: store.Outcome(o), Prev: store.Outcome(prev), Set: set == 1}
	}
	return out, nil
}

// OutcomeOf returns the recorded outcome of a message (OutcomeNone if
// none).
func (s *Store) OutcomeOf(ctx context.Context, deviceID string, seq uint64) (store.Outcome, error) {
	var o uint64
	sc := s.conn(deviceID)
	err := s.do(ctx, "outcome", sc, func(ctx context.Context) error {
		cmd := sc.rdb.B().Hget().Key(s.deviceKey(deviceID, sufOutcomes)).Field(strconv.FormatUint(seq, 10)).Build()
		var err error
		o, err = optionalUint(sc.rdb.Do(ctx, cmd))
		return err
	})
	return store.Outcome(o), err
}
