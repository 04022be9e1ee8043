package connector

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// hookStore runs its hook once, after a stream read and before the read
// returns: what the hook does happens between a catch-up's read of its
// last page and the end of that catch-up.
type hookStore struct {
	*pebblestore.Store
	mu   sync.Mutex
	hook func()
}

func (h *hookStore) ReadStream(ctx context.Context, deviceID string, epoch, since uint64, limit int) (store.Page, error) {
	page, err := h.Store.ReadStream(ctx, deviceID, epoch, since, limit)
	h.mu.Lock()
	hook := h.hook
	h.hook = nil
	h.mu.Unlock()
	if hook != nil {
		hook()
	}
	return page, err
}

// TestOfferDuringACatchUpIsWritten delivers a message while the session
// is catching up: the offer leaves it to the catch-up, whose last page was
// read before the message was appended. The catch-up must read once more
// and write it; before, it ended, and the message waited for the device's
// next push or reconnect (a broadcast, with no vendor fallback, for good).
func TestOfferDuringACatchUpIsWritten(t *testing.T) {
	t.Parallel()
	hs := &hookStore{}
	c, st, url, _ := serveConnectorOn(t, Config{}, nil, nil, true, func(p *pebblestore.Store) Store {
		hs.Store = p
		return hs
	})
	f := &fixture{t: t, c: c, st: st, url: url}
	id, secret := f.device()
	dev := f.connect(id, secret)
	dev.synced(t)
	ctx := context.Background()
	msg := func(n int) store.Message {
		return store.Message{PushID: ids.New(), Title: fmt.Sprint(n), SentAt: time.Now()}
	}

	// Message 1 goes to the stream alone, unknown to the session, so that
	// message 2 finds a gap and starts a catch-up; message 3 is delivered
	// while that catch-up reads.
	_, err := st.Append(ctx, []store.Entry{{DeviceID: id, Message: msg(1)}})
	require.NoError(t, err)
	delivered := make(chan route.Result, 1)
	hs.mu.Lock()
	hs.hook = func() {
		res, err := c.Deliver(ctx, route.Batch{Message: msg(3), DeviceIDs: []string{id}})
		require.NoError(t, err)
		delivered <- res[0]
	}
	hs.mu.Unlock()
	res, err := c.Deliver(ctx, route.Batch{Message: msg(2), DeviceIDs: []string{id}})
	require.NoError(t, err)
	require.Equal(t, route.Written, res[0].Status)

	var got []uint64
	for len(got) < 3 {
		fr := dev.read(t) // fails after 10 s without a frame
		if p := fr.GetPush(); p != nil {
			got = append(got, p.Seq)
		}
		for _, p := range fr.GetSyncResponse().GetPushes() {
			got = append(got, p.Seq)
		}
	}
	require.Equal(t, []uint64{1, 2, 3}, got)
	r := <-delivered
	require.Equal(t, route.Written, r.Status)
	require.EqualValues(t, 3, r.Seq)
}
