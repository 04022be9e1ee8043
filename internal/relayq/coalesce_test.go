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

// settledSet is a HoldSettled filter over a set of push ids that tests
// change as they go.
type settledSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (s *settledSet) set(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]bool{}
	}
	for _, id := range ids {
		s.ids[id] = true
	}
}

func (s *settledSet) settled(j Job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[j.PushID]
}

// Jobs that settled while they waited are left out of their message, and
// a message whose jobs all settled is not published; the callers are told
// in both cases.
func TestCoalescerLeavesOutSettledJobs(t *testing.T) {
	js, s := openStream(t)
	var set settledSet
	c := NewCoalescer(&Publisher{JS: js}, time.Hour).HoldSettled(time.Hour, set.settled)
	due := time.Now().Add(72 * time.Hour).UnixMilli() // past 2 × hold: held
	var calls []error
	var mu sync.Mutex
	record := func(err error) {
		mu.Lock()
		calls = append(calls, err)
		mu.Unlock()
	}
	c.ScheduleAsync(jobsFor(5, due), record)
	set.set("p0", "p2", "p4")
	c.Close()
	require.Equal(t, []error{nil}, calls)
	msgs := stored(t, s)
	require.Len(t, msgs, 1)
	require.Len(t, msgs[0], 2)
	require.Equal(t, []string{"p1", "p3"}, []string{msgs[0][0].PushID, msgs[0][1].PushID})

	c2 := NewCoalescer(&Publisher{JS: js}, time.Hour).HoldSettled(time.Hour, func(Job) bool { return true })
	c2.ScheduleAsync(jobsFor(3, due), record)
	c2.Close()
	require.Equal(t, []error{nil, nil}, calls)
	require.Len(t, stored(t, s), 1, "nothing published for a message whose jobs all settled")
}

// A held message that reaches MaxBatch drops its settled jobs first and
// leaves only when MaxBatch unsettled ones remain; a message due soon (an
// offline device's) is not held and leaves at MaxBatch as before.
func TestCoalescerPrunesAFullHeldMessage(t *testing.T) {
	js, s := openStream(t)
	var set settledSet
	c := NewCoalescer(&Publisher{JS: js}, time.Hour).HoldSettled(time.Hour, set.settled)
	// Messages group jobs by how far off they are due when scheduled, in
	// steps of dueClass: each call's jobs are due 72 h and half a step from
	// its own time, so that both calls land in the same message however
	// long the machine takes between them.
	farOff := func() int64 { return time.Now().Add(72*time.Hour + dueClass/2).UnixMilli() }
	jobs := jobsFor(MaxBatch, farOff())
	for i := range jobs {
		jobs[i].PushID = fmt.Sprintf("held%d", i)
		if i%2 == 0 {
			set.set(jobs[i].PushID)
		}
	}
	var heldDone atomic.Int32
	c.ScheduleAsync(jobs, func(error) { heldDone.Add(1) })
	require.Empty(t, stored(t, s), "half settled: the message waits for more")

	var soonDone atomic.Int32
	c.ScheduleAsync(jobsFor(MaxBatch, time.Now().UnixMilli()), func(error) { soonDone.Add(1) })
	require.Eventually(t, func() bool { return soonDone.Load() == 1 }, 10*time.Second, 5*time.Millisecond,
		"a full message due now leaves at once")
	require.Len(t, stored(t, s), 1)

	more := jobsFor(MaxBatch/2, farOff())
	for i := range more {
		more[i].PushID = fmt.Sprintf("more%d", i)
	}
	c.ScheduleAsync(more, func(error) { heldDone.Add(1) })
	require.Eventually(t, func() bool { return heldDone.Load() == 2 }, 10*time.Second, 5*time.Millisecond,
		"MaxBatch unsettled jobs: the held message leaves")
	msgs := stored(t, s)
	require.Len(t, msgs, 2)
	held := msgs[1] // after the message due now
	require.Len(t, held, MaxBatch)
	for _, j := range held {
		require.False(t, set.settled(j), "settled job %s published", j.PushID)
	}
	c.Close()
}
