package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/dispatcher"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// arrivals records the broadcast sequence numbers each node received, in
// the order the calls came in.
type arrivals struct {
	mu   sync.Mutex
	seqs map[string][]uint64
}

func (a *arrivals) Deliver(context.Context, dispatcher.Node, route.Batch) ([]route.Result, error) {
	return nil, fmt.Errorf("not scripted")
}

func (a *arrivals) Broadcast(_ context.Context, n dispatcher.Node, b route.Broadcast) (route.BroadcastResult, error) {
	// A varying pause: calls that overlap finish in any order.
	time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	a.mu.Lock()
	a.seqs[n.ID] = append(a.seqs[n.ID], b.Message.Seq)
	a.mu.Unlock()
	return route.BroadcastResult{Sessions: 1}, nil
}

// Broadcasts of one app routed at once reach every connector in the order
// of their stream positions.
func TestBroadcastsReachConnectorsInStreamOrder(t *testing.T) {
	t.Parallel()
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	d := &arrivals{seqs: map[string][]uint64{}}
	g := New(Config{}, st, testRing(), d, nil, nil)
	ctx := context.Background()
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		p := &store.Push{ID: fmt.Sprintf("bc-%d", i), AppID: "app", Audience: store.Audience{Broadcast: true},
			CreatedAt: time.Now(), Notification: store.Notification{Title: "t"}}
		_, err := st.CreatePush(ctx, p, "")
		require.NoError(t, err)
		wg.Go(func() { g.routeBroadcast(ctx, p) })
	}
	wg.Wait()
	require.Len(t, d.seqs, 3)
	for node, seqs := range d.seqs {
		require.Len(t, seqs, n, node)
		for i := 1; i < len(seqs); i++ {
			require.Less(t, seqs[i-1], seqs[i], "node %s got broadcasts out of stream order: %v", node, seqs)
		}
	}
}
