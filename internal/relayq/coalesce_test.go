package relayq

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/bus"
)

func openStream(t *testing.T) (jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	b, err := bus.Open(bus.Config{Dir: t.TempDir()}, nil)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	s, err := Ensure(t.Context(), b.JS)
	require.NoError(t, err)
	return b.JS, s
}

// stored returns the jobs of every fallback message in the stream, by
// message.
func stored(t *testing.T, s jetstream.Stream) [][]Job {
	t.Helper()
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	var out [][]Job
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		require.Equal(t, SubjectFallback, m.Subject)
		jobs, err := DecodeBatch(m.Data)
		require.NoError(t, err)
		at, ok := WakeOf(m.Header)
		require.True(t, ok, "every fallback message says when it is due")
		require.Equal(t, Wake(jobs), at)
		out = append(out, jobs)
	}
	return out
}

func jobsFor(n int, dueMs int64) []Job {
	jobs := make([]Job, n)
	for i := range jobs {
		jobs[i] = Job{PushID: fmt.Sprintf("p%d", i), AppID: "a", DeviceID: fmt.Sprintf("d%d", i), DueMs: dueMs}
	}
	return jobs
}

func TestScheduleSplitsIntoBatches(t *testing.T) {
	js, s := openStream(t)
	jobs := jobsFor(2*MaxBatch+5, 7)
	require.NoError(t, (&Publisher{JS: js}).Schedule(t.Context(), jobs))
	msgs := stored(t, s)
	require.Len(t, msgs, 3)
	require.Len(t, msgs[0], MaxBatch)
	require.Len(t, msgs[1], MaxBatch)
	require.Len(t, msgs[2], 5)
	require.Equal(t, jobs, append(append(msgs[0], msgs[1]...), msgs[2]...))
}

func TestCoalescerSharesMessages(t *testing.T) {
	js, s := openStream(t)
	// A window longer than the test: only a full message or Close sends.
	c := NewCoalescer(&Publisher{JS: js}, time.Hour)
	now := time.Now().UnixMilli()
	var (
		wg   sync.WaitGroup
		done atomic.Int32
		mu   sync.Mutex
		errs []error
	)
	const callers = MaxBatch + 44
	for i := range callers {
		wg.Go(func() {
			j := Job{PushID: fmt.Sprintf("p%d", i), AppID: "a", DeviceID: "d", DueMs: now}
			c.ScheduleAsync([]Job{j}, func(err error) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				done.Add(1)
			})
		})
	}
	wg.Wait()
	require.Eventually(t, func() bool { return done.Load() == MaxBatch }, 10*time.Second, 5*time.Millisecond,
		"the callers of the full message are told once it is stored")
	require.Len(t, stored(t, s), 1)
	require.EqualValues(t, MaxBatch, done.Load(), "the rest wait for their message")

	c.Close()
	require.EqualValues(t, callers, done.Load())
	for _, err := range errs {
		require.NoError(t, err)
	}
	msgs := stored(t, s)
	require.Len(t, msgs, 2)
	require.Len(t, msgs[0], MaxBatch)
	require.Len(t, msgs[1], callers-MaxBatch)
	seen := map[string]bool{}
	for _, m := range msgs {
		for _, j := range m {
			require.False(t, seen[j.PushID], "job %s twice", j.PushID)
			seen[j.PushID] = true
		}
	}
	require.Len(t, seen, callers)
}

func TestCoalescerKeepsDueTimesApart(t *testing.T) {
	js, s := openStream(t)
	c := NewCoalescer(&Publisher{JS: js}, time.Hour)
	now := time.Now().UnixMilli()
	var got error = fmt.Errorf("not called")
	c.ScheduleAsync([]Job{
		{PushID: "offline", AppID: "a", DeviceID: "d1", DueMs: now},
		{PushID: "live", AppID: "a", DeviceID: "d2", DueMs: now + 10_000},
		{PushID: "offline2", AppID: "a", DeviceID: "d3", DueMs: now - 5},
	}, func(err error) { got = err })
	c.Close()
	require.NoError(t, got, "done runs once both messages are stored")
	msgs := stored(t, s)
	require.Len(t, msgs, 2)
	byFirst := map[string][]Job{}
	for _, m := range msgs {
		byFirst[m[0].PushID] = m
	}
	require.Len(t, byFirst["offline"], 2)
	require.Equal(t, "offline2", byFirst["offline"][1].PushID)
	require.Len(t, byFirst["live"], 1)
}

func TestCoalescerWindowSends(t *testing.T) {
	js, s := openStream(t)
	c := NewCoalescer(&Publisher{JS: js}, 20*time.Millisecond)
	t.Cleanup(c.Close)
	require.NoError(t, c.Schedule(t.Context(), jobsFor(3, 1)), "the window ends without Close")
	require.Len(t, stored(t, s), 1)
}

func TestCoalescerReportsPublishErrors(t *testing.T) {
	b, err := bus.Open(bus.Config{Dir: t.TempDir()}, nil)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	// No relay stream: nothing stores the subject.
	c := NewCoalescer(&Publisher{JS: b.JS}, time.Millisecond)
	t.Cleanup(c.Close)
	require.Error(t, c.Schedule(t.Context(), jobsFor(2, 1)))
}
