package connector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// TestNewClientGetsTheBroadcastsSentSinceItRegistered appends broadcasts
// before and after two devices registered, while neither is connected;
// both then connect for the first time with no broadcast position. Each
// gets the broadcasts sent since it registered, and none from before: a
// device whose app's first broadcast went out while it was away, before
// it ever saw the stream, gets that broadcast too.
func TestNewClientGetsTheBroadcastsSentSinceItRegistered(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour)
	register := func(at time.Time) (string, []byte) {
		id, secret := ids.New(), ids.Secret(32)
		require.NoError(t, f.st.PutDevice(ctx, &store.Device{ID: id, AppID: "app", Secret: secret, CreatedAt: at}))
		return id, secret
	}
	broadcast := func(title string, at time.Time) {
		_, err := f.st.Append(ctx, []store.Entry{{DeviceID: store.BroadcastStream("app"),
			Message: store.Message{PushID: ids.New(), Title: title, SentAt: at}}})
		require.NoError(t, err)
	}
	early, earlySecret := register(t0)
	broadcast("before both", t0.Add(-time.Minute))
	broadcast("after the first", t0.Add(time.Minute))
	late, lateSecret := register(t0.Add(2 * time.Minute))
	broadcast("after both", t0.Add(3*time.Minute))

	for _, tc := range []struct {
		id     string
		secret []byte
		want   []string
	}{
		{early, earlySecret, []string{"after the first", "after both"}},
		{late, lateSecret, []string{"after both"}},
	} {
		dev := f.connect(tc.id, tc.secret)
		own := dev.read(t).GetSyncResponse()
		require.NotNil(t, own)
		bc := dev.read(t).GetSyncResponse()
		require.NotNil(t, bc)
		require.True(t, bc.Broadcast)
		var got []string
		for _, p := range bc.Pushes {
			got = append(got, p.Title)
		}
		require.Equal(t, tc.want, got)
		require.EqualValues(t, 3, bc.HeadSeq)
		require.True(t, bc.Recovered)
	}
}
