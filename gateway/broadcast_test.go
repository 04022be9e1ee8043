package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/dispatcher"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// fanout records the broadcasts each connector is asked to write; every
// connector has one session.
type fanout struct {
	mu  sync.Mutex
	got []route.Broadcast
}

func (f *fanout) Deliver(context.Context, dispatcher.Node, route.Batch) ([]route.Result, error) {
	return nil, errors.New("no devices here")
}

func (f *fanout) Broadcast(_ context.Context, _ dispatcher.Node, b route.Broadcast) (route.BroadcastResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, b)
	return route.BroadcastResult{Sessions: 1, Written: 1}, nil
}

func (f *fanout) broadcasts() []route.Broadcast {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]route.Broadcast(nil), f.got...)
}

// failingBroadcasts is a store whose first appends fail; with applied, the
// first of them after it applied the append (the answer was lost).
type failingBroadcasts struct {
	*pebblestore.Store
	applied bool
	mu      sync.Mutex
	fails   int
	calls   int
}

func (s *failingBroadcasts) Append(ctx context.Context, e []store.Entry) ([]store.Position, error) {
	s.mu.Lock()
	s.calls++
	call := s.calls
	s.mu.Unlock()
	if call > s.fails {
		return s.Store.Append(ctx, e)
	}
	if call == 1 && s.applied {
		if _, err := s.Store.Append(ctx, e); err != nil {
			return nil, err
		}
		return nil, errors.New("connection reset after the write")
	}
	return nil, errors.New("store down")
}

func (s *failingBroadcasts) appends() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// A broadcast whose append fails is tried again while the store fails, as
// the devices no connector took are, instead of waiting for a sweep half a
// minute later (before, the push stayed pending); an attempt whose answer
// was lost, or an earlier routing, is not appended twice.
func TestBroadcastAppendTriesAgain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		applied bool
		appends int
	}{
		{"store down twice", false, 3},
		{"answer lost", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := &failingBroadcasts{Store: openStore(t), applied: tc.applied, fails: 2}
			d := &fanout{}
			g := New(Config{}, st, testRing(), d, nil, nil)
			ctx := context.Background()
			p := &store.Push{ID: "b1", AppID: "app", Audience: store.Audience{Broadcast: true}, CreatedAt: time.Now(),
				ExpiresAt: time.Now().Add(time.Hour), State: store.PushPending}
			_, err := st.CreatePush(ctx, p, "")
			require.NoError(t, err)

			g.routeBroadcast(ctx, p, false)
			require.Equal(t, tc.appends, st.appends())
			page, err := st.ReadStream(ctx, store.BroadcastStream("app"), 0, 0, 10)
			require.NoError(t, err)
			require.Len(t, page.Messages, 1, "appended once")
			require.Equal(t, "b1", page.Messages[0].PushID)
			got := d.broadcasts()
			require.Len(t, got, 3, "one request per connector")
			for _, b := range got {
				require.Equal(t, page.Epoch, b.Epoch)
				require.Equal(t, uint64(1), b.Message.Seq)
			}
			stored, err := st.Push(ctx, "b1")
			require.NoError(t, err)
			require.Equal(t, store.PushDone, stored.State)
			require.EqualValues(t, 3, stored.Counts.Targeted)

			// Routed again, as a sweep after a crash does: the stream holds
			// it.
			g.routeBroadcast(ctx, p, true)
			require.Equal(t, tc.appends, st.appends(), "no append")
			page, err = st.ReadStream(ctx, store.BroadcastStream("app"), 0, 0, 10)
			require.NoError(t, err)
			require.Len(t, page.Messages, 1)
		})
	}
}

func (f *fanout) Disconnect(context.Context, dispatcher.Node, route.Disconnect) (route.DisconnectResult, error) {
	return route.DisconnectResult{}, nil
}
