package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// step is one result of a fake iterator's Next.
type step struct {
	msg jetstream.Msg
	err error
}

// fakeIter returns its steps in order, then waits until it is stopped.
type fakeIter struct {
	mu      sync.Mutex
	steps   []step
	stopped chan struct{}
	once    sync.Once
}

func newFakeIter(steps ...step) *fakeIter {
	return &fakeIter{steps: steps, stopped: make(chan struct{})}
}

func (it *fakeIter) Next(...jetstream.NextOpt) (jetstream.Msg, error) {
	it.mu.Lock()
	if len(it.steps) > 0 {
		s := it.steps[0]
		it.steps = it.steps[1:]
		it.mu.Unlock()
		return s.msg, s.err
	}
	it.mu.Unlock()
	<-it.stopped
	return nil, jetstream.ErrMsgIteratorClosed
}

func (it *fakeIter) Stop()  { it.once.Do(func() { close(it.stopped) }) }
func (it *fakeIter) Drain() { it.Stop() }

// fakeConsumer hands out its iterators in order; only Messages is used.
type fakeConsumer struct {
	jetstream.Consumer
	mu    sync.Mutex
	iters []*fakeIter
	made  int
}

func (c *fakeConsumer) Messages(...jetstream.PullMessagesOpt) (jetstream.MessagesContext, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.made == len(c.iters) {
		c.iters = append(c.iters, newFakeIter())
	}
	c.made++
	return c.iters[c.made-1], nil
}

type fakeMsg struct {
	jetstream.Msg
	id string
}

// A missed heartbeat does not stop the relay from pulling, and an iterator
// that fails is replaced: the relay pulls for as long as it runs.
func TestFeedPullsOnAfterMissedHeartbeatsAndFailures(t *testing.T) {
	e := &Engine{cfg: Config{Workers: 2}, log: testLogger(t)}
	first := newFakeIter(
		step{msg: fakeMsg{id: "a"}},
		step{err: jetstream.ErrNoHeartbeat},
		step{msg: fakeMsg{id: "b"}},
		step{err: errors.New("consumer deleted")},
		step{msg: fakeMsg{id: "never"}}, // the failed iterator is not read again
	)
	second := newFakeIter(step{err: jetstream.ErrNoHeartbeat}, step{msg: fakeMsg{id: "c"}})
	c := &fakeConsumer{iters: []*fakeIter{first, second}}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan work)
	done := make(chan struct{})
	go func() {
		e.feed(ctx, c, true, out)
		close(done)
	}()
	var got []string
	for len(got) < 3 {
		select {
		case w := <-out:
			require.True(t, w.send)
			got = append(got, w.msg.(fakeMsg).id)
		case <-time.After(30 * time.Second):
			t.Fatalf("pulled %v, then nothing", got)
		}
	}
	require.Equal(t, []string{"a", "b", "c"}, got)
	select {
	case <-first.stopped:
	default:
		t.Fatal("the failed iterator was not stopped")
	}
	cancel()
	<-done
	select {
	case <-second.stopped:
	default:
		t.Fatal("the iterator was not drained on shutdown")
	}
}
