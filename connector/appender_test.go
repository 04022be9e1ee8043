package connector

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// countingStore counts Append calls.
type countingStore struct {
	*pebblestore.Store
	appends atomic.Int32
}

func (c *countingStore) Append(ctx context.Context, e []store.Entry) ([]store.Position, error) {
	c.appends.Add(1)
	return c.Store.Append(ctx, e)
}

func TestAppenderMergesConcurrentAppends(t *testing.T) {
	t.Parallel()
	pst, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	defer pst.Close()
	st := &countingStore{Store: pst}
	a := newAppender(st)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.run(ctx); close(done) }()

	const callers = 200
	var wg sync.WaitGroup
	got := make([][]store.Position, callers)
	for i := range callers {
		wg.Go(func() {
			dev := fmt.Sprintf("dev-%d", i%20)
			pos, err := a.append(ctx, []store.Entry{{DeviceID: dev, Message: store.Message{PushID: "p"}}})
			require.NoError(t, err)
			got[i] = pos
		})
	}
	wg.Wait()
	// Every append got its own position, contiguous per device.
	seqs := map[string][]uint64{}
	for i, pos := range got {
		require.Len(t, pos, 1)
		dev := fmt.Sprintf("dev-%d", i%20)
		seqs[dev] = append(seqs[dev], pos[0].Seq)
	}
	for dev, s := range seqs {
		require.Len(t, s, callers/20, dev)
		require.ElementsMatch(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, s, dev)
	}
	require.Less(t, int(st.appends.Load()), callers, "concurrent appends share store calls")
	t.Logf("%d appends in %d store calls", callers, st.appends.Load())

	cancel()
	<-done
	_, err = a.append(context.Background(), []store.Entry{{DeviceID: "late"}})
	require.ErrorIs(t, err, errStopped)
}
