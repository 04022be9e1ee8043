package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/store"
)

// countingStore counts push record reads.
type countingStore struct {
	Store
	reads atomic.Int64
}

func (s *countingStore) Push(ctx context.Context, id string) (*store.Push, error) {
	s.reads.Add(1)
	return s.Store.Push(ctx, id)
}

// The fallback jobs of one push read its record once, not once per
// target, and the cached copy leaves the target list behind.
func TestPushReadOncePerPush(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p := &store.Push{ID: ids.New(), AppID: f.app, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
		Notification: store.Notification{Title: "t", Body: "b"}, State: store.PushPending}
	for range 50 {
		dev := &store.Device{ID: ids.New(), AppID: f.app, Secret: ids.Secret(32)}
		require.NoError(t, f.st.PutDevice(ctx, dev))
		p.Targets = append(p.Targets, dev.ID)
	}
	_, err := f.st.CreatePush(ctx, p, "")
	require.NoError(t, err)
	cs := &countingStore{Store: f.st}
	e := New(Config{}, nil, cs, nil, nil, nil)
	for _, id := range p.Targets {
		j := relayq.Job{PushID: p.ID, AppID: f.app, DeviceID: id, DueMs: time.Now().UnixMilli()}
		send, err := e.fallback(ctx, j)
		require.Nil(t, send)
		require.NoError(t, err)
		o, err := outcome.Of(ctx, f.st, target(j))
		require.NoError(t, err)
		require.Equal(t, store.OutcomeNoChannel, o, "device %s has no token", id)
	}
	require.Equal(t, int64(1), cs.reads.Load())
	cached, ok := e.pushes.get(p.ID)
	require.True(t, ok)
	require.Empty(t, cached.Targets)
	require.Equal(t, p.Notification.Title, cached.Notification.Title)
	require.True(t, p.ExpiresAt.Equal(cached.ExpiresAt))
}

func TestPushCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	c := newPushCache(3)
	for i := range 3 {
		c.put(&store.Push{ID: fmt.Sprint(i)})
	}
	_, ok := c.get("0") // 0 is now the most recent
	require.True(t, ok)
	c.put(&store.Push{ID: "3"})
	_, ok = c.get("1")
	require.False(t, ok, "1 was the least recently used")
	for _, id := range []string{"0", "2", "3"} {
		_, ok := c.get(id)
		require.True(t, ok, id)
	}
	require.Len(t, c.byID, 3)
	require.Equal(t, 3, c.order.Len())
}
