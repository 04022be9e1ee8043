package connector

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/route"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/testsrv"
)

// Broadcasts that arrive in any order are offered in stream order, one at
// a time, when each arrives within the wait of the one after it.
// (The next one's turn comes only when the offer of the one before ends.)
func TestBroadcastOrderOffersInStreamOrder(t *testing.T) {
	const n = 64
	o := newBcastOrder(time.Minute)
	ctx := context.Background()
	// seq 1 opens the epoch; the others arrive shuffled.
	o.acquire(ctx, "app", 7, 1)()
	seqs := make([]uint64, 0, n-1)
	for s := uint64(2); s <= n; s++ {
		seqs = append(seqs, s)
	}
	rand.Shuffle(len(seqs), func(i, j int) { seqs[i], seqs[j] = seqs[j], seqs[i] })

	var (
		mu      sync.Mutex
		offered []uint64
		inside  int
		overlap bool
		wg      sync.WaitGroup
	)
	for _, s := range seqs {
		wg.Go(func() {
			release := o.acquire(ctx, "app", 7, s)
			mu.Lock()
			inside++
			overlap = overlap || inside > 1
			offered = append(offered, s)
			mu.Unlock()
			mu.Lock()
			inside--
			mu.Unlock()
			release()
		})
	}
	wg.Wait()
	require.False(t, overlap, "two broadcasts of one app offered at once")
	require.Len(t, offered, n-1)
	for i, s := range offered {
		require.Equal(t, uint64(i+2), s, "offer %d", i)
	}
	require.Zero(t, o.waiters("app"))
}

// A broadcast whose predecessor never comes goes out after the wait, or
// when its context ends; one of another epoch or app does not wait.
func TestBroadcastOrderGivesUp(t *testing.T) {
	o := newBcastOrder(20 * time.Millisecond)
	ctx := context.Background()
	o.acquire(ctx, "app", 1, 1)()

	o.acquire(ctx, "app", 1, 3)() // 2 never comes: returns after the wait
	o.acquire(ctx, "app", 1, 2)() // late, behind the head: no wait
	o.acquire(ctx, "app", 2, 9)() // a new epoch starts where it is
	o.acquire(ctx, "other", 1, 5)()

	long := newBcastOrder(time.Hour)
	long.acquire(ctx, "app", 1, 1)()
	cctx, cancel := context.WithCancel(ctx)
	got := make(chan struct{})
	go func() {
		long.acquire(cctx, "app", 1, 3)()
		close(got)
	}()
	testsrv.WaitFor(t, 10*time.Second, func() bool { return long.waiters("app") == 1 })
	select {
	case <-got:
		t.Fatal("broadcast 3 went out before broadcast 2 and before its context ended")
	default:
	}
	cancel()
	<-got
}

// A broadcast that reaches the connector before the one it follows waits
// for it, so that sessions get both live, in order, without reading the
// stream back from the store.
func TestBroadcastsArrivingOutOfOrderGoOutLive(t *testing.T) {
	f := newFixture(t, Config{})
	f.c.order.wait = time.Minute
	ctx := context.Background()
	appendBroadcast := func() route.Broadcast {
		msg := store.Message{PushID: ids.New(), Body: "b", SentAt: time.Now()}
		pos, err := f.st.Append(ctx, []store.Entry{{DeviceID: store.BroadcastStream("app"), Message: msg}})
		require.NoError(t, err)
		msg.Seq = pos[0].Seq
		return route.Broadcast{AppID: "app", Message: msg, Epoch: pos[0].Epoch}
	}
	appendBroadcast() // the stream exists before the device connects
	id, secret := f.device()
	dev := f.connect(id, secret)
	dev.synced(t)

	bs := []route.Broadcast{appendBroadcast(), appendBroadcast(), appendBroadcast()}
	_, err := f.c.Broadcast(ctx, bs[0])
	require.NoError(t, err)
	require.Equal(t, uint64(2), dev.read(t).GetPush().GetSeq())

	later := make(chan error, 1)
	go func() {
		_, err := f.c.Broadcast(ctx, bs[2])
		later <- err
	}()
	testsrv.WaitFor(t, 10*time.Second, func() bool { return f.c.order.waiters("app") == 1 })
	_, err = f.c.Broadcast(ctx, bs[1])
	require.NoError(t, err)
	require.NoError(t, <-later)
	for _, want := range []uint64{3, 4} {
		fr := dev.read(t)
		require.NotNil(t, fr.GetPush(), "broadcast %d came in a catch-up page, not live: %v", want, fr)
		require.Equal(t, want, fr.GetPush().GetSeq())
	}
}

// Where sessions found the stream opens the turn: the first two broadcasts
// the connector sees after it go out in stream order whichever comes
// first. A later note changes nothing.
func TestBroadcastOrderStartsAtNotedHead(t *testing.T) {
	o := newBcastOrder(time.Hour)
	ctx := context.Background()
	o.note("app", 0, 0) // no stream yet: nothing to open
	o.note("app", 7, 10)
	o.note("app", 7, 3)

	second := make(chan struct{})
	go func() {
		o.acquire(ctx, "app", 7, 12)()
		close(second)
	}()
	for o.waiters("app") == 0 {
		select {
		case <-second:
			t.Fatal("12 went out before 11")
		default:
			waitUntil(time.Millisecond)
		}
	}
	o.acquire(ctx, "app", 7, 11)()
	<-second
	require.Zero(t, o.waiters("app"))
}
