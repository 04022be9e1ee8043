package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

// RenewingStreams is a stream store that can move a stream that went back
// to a new epoch (redisstore, aerostore).
type RenewingStreams interface {
	store.Streams
	RenewEpoch(ctx context.Context, deviceID string, epoch uint64) (uint64, error)
}

// RenewEpoch checks RenewEpoch on st, with devices whose ids start with
// prefix: a reader that found a stream went back moves it to a new epoch
// once, the messages keep their numbers and the watermarks stay, a reader
// of the old epoch reads it all again, and appends go on in the new one.
func RenewEpoch(t *testing.T, st RenewingStreams, prefix string) {
	t.Helper()
	ctx := t.Context()
	d := prefix + "d"
	pos, err := st.Append(ctx, []store.Entry{{DeviceID: d, Message: store.Message{PushID: "p1"}},
		{DeviceID: d, Message: store.Message{PushID: "p2"}}})
	require.NoError(t, err)
	_, err = st.Advance(ctx, d, store.MarkAcked, 1)
	require.NoError(t, err)
	old := pos[0].Epoch

	renewed, err := st.RenewEpoch(ctx, d, old)
	require.NoError(t, err)
	require.NotEqual(t, old, renewed)
	require.NotZero(t, renewed)
	require.LessOrEqual(t, renewed, uint64(store.MaxEpoch))
	again, err := st.RenewEpoch(ctx, d, old) // a second reader of the same loss
	require.NoError(t, err)
	require.Equal(t, renewed, again, "renewed once")
	none, err := st.RenewEpoch(ctx, prefix+"missing", old)
	require.NoError(t, err)
	require.Zero(t, none)

	page, err := st.ReadStream(ctx, d, old, 2, 10)
	require.NoError(t, err)
	require.False(t, page.Recovered, "a reader of the old epoch reads it all again")
	require.Equal(t, renewed, page.Epoch)
	require.Len(t, page.Messages, 2)
	require.Equal(t, uint64(1), page.Messages[0].Seq)
	require.Equal(t, "p1", page.Messages[0].PushID)
	acked, err := st.Watermark(ctx, d, store.MarkAcked)
	require.NoError(t, err)
	require.Equal(t, uint64(1), acked)
	next, err := st.Append(ctx, []store.Entry{{DeviceID: d, Message: store.Message{PushID: "p3"}}})
	require.NoError(t, err)
	require.Equal(t, store.Position{Epoch: renewed, Seq: 3}, next[0])
}
