package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// The gateway leaves out of the relay queue the fallback jobs whose device
// acknowledged the message, by the ack watermark the embedded store holds
// in memory; anything it cannot tell that way is queued.
func TestAckedInTellsByTheCachedWatermark(t *testing.T) {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	var _ cachedWatermarks = st
	ctx := t.Context()
	dev := ids.New()
	var entries []store.Entry
	for range 3 {
		entries = append(entries, store.Entry{DeviceID: dev, Message: store.Message{PushID: ids.New(), SentAt: time.Now()}})
	}
	pos, err := st.Append(ctx, entries)
	require.NoError(t, err)
	acked := ackedIn(st)
	job := func(seq uint64) relayq.Job {
		return relayq.Job{PushID: entries[0].Message.PushID, AppID: "app", DeviceID: dev, Seq: seq, Epoch: pos[0].Epoch}
	}
	require.False(t, acked(job(pos[0].Seq)), "no ack yet")

	_, err = st.Advance(ctx, dev, store.MarkAcked, pos[1].Seq)
	require.NoError(t, err)
	require.True(t, acked(job(pos[0].Seq)))
	require.True(t, acked(job(pos[1].Seq)))
	require.False(t, acked(job(pos[2].Seq)), "beyond the watermark")
	require.False(t, acked(job(0)), "a target outside the stream")
	other := job(1)
	other.DeviceID = ids.New()
	require.False(t, acked(other), "a device whose watermark is not in memory")
}
