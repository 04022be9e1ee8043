package pebblestore

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// With a cache that holds fewer watermarks than are moved, every
// watermark still reads back as stored, whether it is cached or not, and
// the cache stays within its bound.
func TestWatermarkCacheBounded(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	s.marks = newMarks(2)
	ctx := context.Background()
	const devices = 5
	for d := range devices {
		dev := fmt.Sprintf("dev-%d", d)
		for range 4 {
			_, err := s.Append(ctx, []store.Entry{{DeviceID: dev, Message: store.Message{PushID: "p"}}})
			require.NoError(t, err)
		}
		_, err := s.Advance(ctx, dev, store.MarkSent, uint64(d%4+1))
		require.NoError(t, err)
		_, err = s.Advance(ctx, dev, store.MarkAcked, uint64(d%3+1))
		require.NoError(t, err)
	}
	require.LessOrEqual(t, s.marks.m.Len(), 2)
	for d := range devices {
		dev := fmt.Sprintf("dev-%d", d)
		sent, err := s.Watermark(ctx, dev, store.MarkSent)
		require.NoError(t, err)
		require.EqualValues(t, d%4+1, sent, dev)
		acked, err := s.Watermark(ctx, dev, store.MarkAcked)
		require.NoError(t, err)
		require.EqualValues(t, d%3+1, acked, dev)
		// Advancing from a value read from the store covers only what is new.
		msgs, err := s.Advance(ctx, dev, store.MarkSent, 4)
		require.NoError(t, err)
		require.Len(t, msgs, 4-(d%4+1), dev)
	}
}
