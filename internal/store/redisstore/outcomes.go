package redisstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/mopush/mopush/internal/store"
)

// outcomeCount is how many outcome values exist (OutcomeNone included).
const outcomeCount = int(store.OutcomeNoChannel) + 1

// SetOutcome records o for message seq of a device's stream when o
// replaces the recorded outcome, in one script run on the device's shard,
// so of two racing calls exactly one sees the other's result. Outcomes of
// messages trimmed from the stream are deleted with them.
func (s *Store) SetOutcome(ctx context.Context, deviceID string, seq uint64, o store.Outcome) (store.Outcome, bool, error) {
	mask := make([]byte, outcomeCount)
	for prev := range mask {
		mask[prev] = '0'
		if o.Replaces(store.Outcome(prev)) {
			mask[prev] = '1'
		}
	}
	var prev store.Outcome
	var set bool
	sc := s.conn(deviceID)
	err := s.do(ctx, "set outcome", sc, func(ctx context.Context) error {
		keys := []string{s.deviceKey(deviceID, sufOutcomes)}
		args := []string{strconv.FormatUint(seq, 10), strconv.Itoa(int(o)), string(mask)}
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
