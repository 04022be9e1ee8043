package pebblestore

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

func TestUnrecordedTakeOnce(t *testing.T) {
	u := newUnrecorded(8)
	u.add("a", 3, 5)
	require.Equal(t, 3, u.len())
	require.True(t, u.take("a", 4))
	require.False(t, u.take("a", 4), "a target is taken once")
	require.False(t, u.take("a", 6), "never added")
	require.False(t, u.take("b", 3), "other device")
	require.True(t, u.take("a", 3))
	require.True(t, u.take("a", 5))
	require.Zero(t, u.len())
}

func TestUnrecordedDropsOldest(t *testing.T) {
	u := newUnrecorded(3)
	u.add("a", 1, 2)
	u.add("b", 1, 2)
	require.Equal(t, 3, u.len())
	require.False(t, u.take("a", 1), "the oldest was dropped")
	require.True(t, u.take("a", 2))
	require.True(t, u.take("b", 1))
	require.True(t, u.take("b", 2))
	// Slots of taken targets are reused without dropping live ones.
	u.add("c", 1, 1)
	u.add("d", 1, 1)
	require.True(t, u.take("c", 1))
	require.True(t, u.take("d", 1))
}

// Outcomes read back as recorded whether their target was still in the set
// of unrecorded messages or had been dropped from it, and recording takes
// every target out of the set.
func TestSetOutcomeAfterAppend(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	s.unrecorded = newUnrecorded(4)
	ctx := context.Background()
	const devices, perDevice = 5, 3
	for d := range devices {
		entries := make([]store.Entry, perDevice)
		for i := range entries {
			entries[i] = store.Entry{DeviceID: fmt.Sprintf("dev-%d", d), Message: store.Message{PushID: "p"}}
		}
		_, err := s.Append(ctx, entries)
		require.NoError(t, err)
	}
	require.Equal(t, 4, s.unrecorded.len())
	for d := range devices {
		dev := fmt.Sprintf("dev-%d", d)
		for seq := uint64(1); seq <= perDevice; seq++ {
			prev, set, err := s.SetOutcome(ctx, dev, seq, store.OutcomeRelayed)
			require.NoError(t, err)
			require.True(t, set, "%s/%d", dev, seq)
			require.Equal(t, store.OutcomeNone, prev)

			prev, set, err = s.SetOutcome(ctx, dev, seq, store.OutcomeRelayFailed)
			require.NoError(t, err)
			require.False(t, set, "%s/%d: relayed is kept", dev, seq)
			require.Equal(t, store.OutcomeRelayed, prev)

			prev, set, err = s.SetOutcome(ctx, dev, seq, store.OutcomeAcked)
			require.NoError(t, err)
			require.True(t, set)
			require.Equal(t, store.OutcomeRelayed, prev)

			got, err := s.OutcomeOf(ctx, dev, seq)
			require.NoError(t, err)
			require.Equal(t, store.OutcomeAcked, got)
		}
	}
	require.Zero(t, s.unrecorded.len())
}

// A message appended by this process is answered from memory: an outcome
// slipped into the database behind the store's back is not read.
func TestSetOutcomeSkipsReadOfAppended(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	ctx := context.Background()
	pos, err := s.Append(ctx, []store.Entry{{DeviceID: "d", Message: store.Message{PushID: "p"}}})
	require.NoError(t, err)
	seq := pos[0].Seq
	require.NoError(t, s.db.Set(outcomeKey("d", seq), []byte{byte(store.OutcomeRelayed)}, nil))

	prev, set, err := s.SetOutcome(ctx, "d", seq, store.OutcomeRelayFailed)
	require.NoError(t, err)
	require.True(t, set)
	require.Equal(t, store.OutcomeNone, prev, "answered from the set, not read")

	// The next call reads what the first one wrote.
	prev, set, err = s.SetOutcome(ctx, "d", seq, store.OutcomeRelayed)
	require.NoError(t, err)
	require.False(t, set)
	require.Equal(t, store.OutcomeRelayFailed, prev)
}

// After a restart the set is empty and outcomes are read from the
// database.
func TestSetOutcomeAfterReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(Config{Dir: dir})
	require.NoError(t, err)
	pos, err := s.Append(ctx, []store.Entry{{DeviceID: "d", Message: store.Message{PushID: "p"}}})
	require.NoError(t, err)
	_, _, err = s.SetOutcome(ctx, "d", pos[0].Seq, store.OutcomeRelayed)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = open(t, Config{Dir: dir})
	prev, set, err := s.SetOutcome(ctx, "d", pos[0].Seq, store.OutcomeNoChannel)
	require.NoError(t, err)
	require.False(t, set)
	require.Equal(t, store.OutcomeRelayed, prev)
}
