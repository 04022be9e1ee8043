package batch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mopush/mopush/internal/testsrv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sink records what flushes receive.
type sink struct {
	mu      sync.Mutex
	flushes int
	seen    map[int]int // item -> times flushed
	fail    func(items []int) error
}

func newSink() *sink { return &sink{seen: map[int]int{}} }

func (s *sink) flush(_ context.Context, items []int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushes++
	if s.fail != nil {
		if err := s.fail(items); err != nil {
			return err
		}
	}
	for _, it := range items {
		s.seen[it]++
	}
	return nil
}

func (s *sink) stats() (flushes, items int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushes, len(s.seen)
}

func (s *sink) has(item int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[item] > 0
}

// requireExactlyOnce checks that items 0..n-1 were each flushed once.
func (s *sink) requireExactlyOnce(t *testing.T, n int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Len(t, s.seen, n)
	for i := range n {
		require.Equal(t, 1, s.seen[i], "item %d", i)
	}
}

// run starts w.Run and returns a function that stops it and returns Run's
// error.
func run[T any](t *testing.T, w *Writer[T]) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg := Config{}.withDefaults()
	require.Equal(t, DefaultMaxBatch, cfg.MaxBatch)
	require.Equal(t, DefaultMaxDelay, cfg.MaxDelay)
	require.Equal(t, DefaultWorkers, cfg.Workers)
	require.Equal(t, DefaultQueueSize, cfg.QueueSize)
	require.Equal(t, DefaultDrainTimeout, cfg.DrainTimeout)
	require.NotNil(t, cfg.Logger)
}

// TestCoalesces: 10,000 adds reach the flush function in far fewer calls,
// each item exactly once.
func TestCoalesces(t *testing.T) {
	t.Parallel()
	s := newSink()
	w := New(Config{}, s.flush)
	stop := run(t, w)
	const n = 10_000
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < n; i += 4 {
				if err := w.Add(t.Context(), i); err != nil {
					t.Errorf("add: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	testsrv.WaitFor(t, 10*time.Second, func() bool { _, items := s.stats(); return items == n })
	require.NoError(t, stop())
	flushes, _ := s.stats()
	t.Logf("%d adds in %d flushes", n, flushes)
	require.GreaterOrEqual(t, flushes, n/DefaultMaxBatch)
	require.Less(t, flushes, n/10, "batching coalesces")
	s.requireExactlyOnce(t, n)
}

func TestFlushBySize(t *testing.T) {
	t.Parallel()
	var sizes []int
	var mu sync.Mutex
	gate := make(chan struct{})
	w := New(Config{MaxBatch: 10, Workers: 1, MaxDelay: time.Hour}, func(_ context.Context, items []int) error {
		<-gate
		mu.Lock()
		sizes = append(sizes, len(items))
		mu.Unlock()
		return nil
	})
	for i := range 30 {
		require.NoError(t, w.Add(t.Context(), i))
	}
	stop := run(t, w)
	close(gate)
	// MaxDelay is an hour: only full batches can have been flushed.
	testsrv.WaitFor(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 3 })
	require.NoError(t, stop())
	require.Equal(t, []int{10, 10, 10}, sizes)
}

func TestFlushByTime(t *testing.T) {
	t.Parallel()
	s := newSink()
	w := New(Config{MaxBatch: 1000, MaxDelay: time.Millisecond}, s.flush)
	run(t, w)
	require.NoError(t, w.AddWait(t.Context(), 1), "a lone item is flushed after MaxDelay")
	require.True(t, s.has(1))
}

// TestAddWaitReturnsFlushError: AddWait returns once its batch was flushed,
// with the flush's error.
func TestAddWaitReturnsFlushError(t *testing.T) {
	t.Parallel()
	boom := errors.New("database down")
	s := newSink()
	s.fail = func(items []int) error {
		for _, it := range items {
			if it < 0 {
				return boom
			}
		}
		return nil
	}
	w := New(Config{MaxBatch: 1}, s.flush)
	run(t, w)
	ctx := t.Context()
	require.ErrorIs(t, w.AddWait(ctx, -1), boom)
	require.NoError(t, w.AddWait(ctx, 7))
	require.True(t, s.has(7), "AddWait returned after the flush")
	require.False(t, s.has(-1))
}

func TestAddWaitContext(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	w := New(Config{}, func(context.Context, []int) error { <-gate; return nil })
	stop := run(t, w)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := w.AddWait(ctx, 1)
	require.ErrorIs(t, err, context.Canceled, "the item is queued but the wait gives up")
	close(gate)
	require.NoError(t, stop())
}

// TestBackpressure: with the only worker stuck in a flush and the queue
// full, Add blocks until its context ends, and the writer holds no more than
// QueueSize queued items.
func TestBackpressure(t *testing.T) {
	t.Parallel()
	const queueSize = 4
	entered := make(chan int, 1)
	release := make(chan struct{})
	s := newSink()
	w := New(Config{Workers: 1, MaxBatch: 1, QueueSize: queueSize}, func(ctx context.Context, items []int) error {
		if items[0] == 0 {
			entered <- 0
			<-release
		}
		return s.flush(ctx, items)
	})
	stop := run(t, w)
	ctx := t.Context()
	require.NoError(t, w.Add(ctx, 0))
	<-entered // the worker holds item 0
	for i := 1; i <= queueSize; i++ {
		require.NoError(t, w.Add(ctx, i))
	}
	require.Equal(t, queueSize, w.Queued())

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, w.Add(short, queueSize+1), context.DeadlineExceeded)
	require.ErrorIs(t, w.AddWait(short, queueSize+1), context.DeadlineExceeded)
	require.Equal(t, queueSize, w.Queued(), "nothing beyond QueueSize is held")

	close(release)
	testsrv.WaitFor(t, 10*time.Second, func() bool { _, n := s.stats(); return n == queueSize+1 })
	require.NoError(t, stop())
	s.requireExactlyOnce(t, queueSize+1)
}

// TestDrainOnShutdown: everything added before cancellation is flushed
// before Run returns, and later adds are refused.
func TestDrainOnShutdown(t *testing.T) {
	t.Parallel()
	const n = 5000
	gate := make(chan struct{})
	s := newSink()
	w := New(Config{Workers: 2, MaxBatch: 16, QueueSize: n}, func(ctx context.Context, items []int) error {
		<-gate
		return s.flush(ctx, items)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for i := range n {
		require.NoError(t, w.Add(t.Context(), i))
	}
	cancel()
	close(gate)
	require.NoError(t, <-done)
	s.requireExactlyOnce(t, n)
	require.Zero(t, w.Queued())
	require.ErrorIs(t, w.Add(t.Context(), n), ErrClosed)
	require.ErrorIs(t, w.Run(t.Context()), ErrRunning)
}

// TestAddRacingShutdown: adds race with the end of Run; every add that
// returned nil was flushed, every other one returned ErrClosed.
func TestAddRacingShutdown(t *testing.T) {
	t.Parallel()
	s := newSink()
	w := New(Config{Workers: 2, MaxBatch: 8, QueueSize: 16}, s.flush)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	var accepted sync.Map
	var next, refused atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				err := w.Add(context.Background(), i)
				if errors.Is(err, ErrClosed) {
					refused.Add(1)
					return
				}
				if err != nil {
					t.Errorf("add: %v", err)
					return
				}
				accepted.Store(i, true)
			}
		})
	}
	testsrv.WaitFor(t, 10*time.Second, func() bool { _, n := s.stats(); return n > 1000 })
	cancel()
	require.NoError(t, <-done)
	wg.Wait()
	require.Equal(t, int64(8), refused.Load())
	n := 0
	accepted.Range(func(k, _ any) bool {
		require.True(t, s.has(k.(int)), "accepted item %d was not flushed", k)
		n++
		return true
	})
	_, flushed := s.stats()
	require.Equal(t, n, flushed)
}

// TestDrainDeadline: a flush stuck past DrainTimeout is cancelled, what is
// still queued fails with ErrClosed, and blocked adds are released.
func TestDrainDeadline(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{}, 1)
	w := New(Config{Workers: 1, MaxBatch: 1, QueueSize: 1, DrainTimeout: 10 * time.Millisecond},
		func(ctx context.Context, items []int) error {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-ctx.Done() // stuck until the drain deadline cancels it
			return ctx.Err()
		})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	results := make(chan error, 3)
	go func() { results <- w.AddWait(context.Background(), 0) }() // flushed, cancelled
	<-entered
	go func() { results <- w.AddWait(context.Background(), 1) }() // queued, dropped
	testsrv.WaitFor(t, 10*time.Second, func() bool { return w.Queued() == 1 })
	go func() { results <- w.AddWait(context.Background(), 2) }() // blocked: refused or dropped
	testsrv.WaitFor(t, 10*time.Second, func() bool { return w.inflight.Load() == 1 })

	cancel()
	require.NoError(t, <-done)
	var errs []error
	for range 3 {
		errs = append(errs, <-results)
	}
	var cancelled, closed int
	for _, err := range errs {
		switch {
		case errors.Is(err, context.Canceled):
			cancelled++
		case errors.Is(err, ErrClosed):
			closed++
		default:
			t.Fatalf("unexpected result %v", err)
		}
	}
	require.Equal(t, 1, cancelled, "the stuck flush's context was cancelled")
	require.Equal(t, 2, closed, "the queued item and the blocked one were not flushed")
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	boom := errors.New("boom")
	w := New(Config{MaxBatch: 1, Registerer: reg, Name: "receipts"}, func(_ context.Context, items []int) error {
		if items[0] < 0 {
			return boom
		}
		return nil
	})
	// A second writer with the same name shares the metrics instead of
	// panicking.
	New(Config{Registerer: reg, Name: "receipts"}, func(context.Context, []int) error { return nil })
	run(t, w)
	require.NoError(t, w.AddWait(t.Context(), 1))
	require.ErrorIs(t, w.AddWait(t.Context(), -1), boom)

	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]*dto.Metric{}
	for _, f := range families {
		require.Len(t, f.GetMetric(), 1)
		m := f.GetMetric()[0]
		require.Equal(t, "writer", m.GetLabel()[0].GetName())
		require.Equal(t, "receipts", m.GetLabel()[0].GetValue())
		got[f.GetName()] = m
	}
	require.Equal(t, uint64(2), got["push_store_batch_flush_size"].GetHistogram().GetSampleCount())
	require.Equal(t, uint64(2), got["push_store_batch_flush_seconds"].GetHistogram().GetSampleCount())
	require.Equal(t, 1.0, got["push_store_batch_errors_total"].GetCounter().GetValue())
	require.Contains(t, got, "push_store_batch_queue_depth")
	require.Contains(t, got, "push_store_batch_dropped_total")
}

func BenchmarkWriterAdd(b *testing.B) {
	var n atomic.Int64
	w := New(Config{}, func(_ context.Context, items []int) error {
		n.Add(int64(len(items)))
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	i := 0
	for b.Loop() {
		if err := w.Add(ctx, i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "items/s")
}
