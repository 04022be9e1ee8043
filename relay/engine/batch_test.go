package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/store"
)

// flakyStore fails device reads for chosen devices a number of times.
type flakyStore struct {
	Store
	mu    sync.Mutex
	fails map[string]int
}

var errFlaky = errors.New("store unavailable")

func (s *flakyStore) Devices(ctx context.Context, ids []string) ([]*store.Device, error) {
	s.mu.Lock()
	for _, id := range ids {
		if s.fails[id] > 0 {
			s.fails[id]--
			s.mu.Unlock()
			return nil, errFlaky
		}
	}
	s.mu.Unlock()
	return s.Store.Devices(ctx, ids)
}

func (s *flakyStore) left(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fails[id]
}

func fallbackJob(j relayq.Job, due time.Time) relayq.Job {
	j.Vendor, j.Token, j.DueMs = "", "", due.UnixMilli()
	return j
}

// One message of checks whose due times are far apart: the due ones are
// relayed at once, the others when they fall due, not before.
func TestBatchWithJobsDueLater(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fs := &fakeSender{}
	_, pub := runEngine(t, Config{}, f.st, fakeSenders{fs}, nil)
	now := time.Now()
	soon := []relayq.Job{fallbackJob(f.target(t), now), fallbackJob(f.target(t), now.Add(-time.Second))}
	laterDue := now.Add(3 * time.Second)
	later := fallbackJob(f.target(t), laterDue)
	require.NoError(t, pub.Schedule(context.Background(), []relayq.Job{soon[0], later, soon[1]}))
	waitRelayed(t, f, soon)
	waitRelayed(t, f, []relayq.Job{later})
	require.False(t, time.Now().Before(laterDue), "relayed before it was due")
	require.EqualValues(t, 3, fs.sent.Load())
}

// A check that fails does not hold back the others of its message, and is
// retried on its own until it succeeds.
func TestBatchRetriesFailedCheckAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fs := &fakeSender{}
	jobs := []relayq.Job{fallbackJob(f.target(t), time.Now()), fallbackJob(f.target(t), time.Now()), fallbackJob(f.target(t), time.Now())}
	st := &flakyStore{Store: f.st, fails: map[string]int{jobs[1].DeviceID: 2}}
	_, pub := runEngine(t, Config{MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, st, fakeSenders{fs}, nil)
	require.NoError(t, pub.Schedule(context.Background(), jobs))
	waitRelayed(t, f, []relayq.Job{jobs[0], jobs[2]})
	waitRelayed(t, f, []relayq.Job{jobs[1]})
	require.Zero(t, st.left(jobs[1].DeviceID), "both failures were retried")
	require.EqualValues(t, 3, fs.sent.Load(), "each target relayed once")
}

// The checks of one push to many targets travel in shared messages and
// each target is relayed once.
func TestBatchOfManyTargets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fs := &fakeSender{}
	_, pub := runEngine(t, Config{Workers: 4}, f.st, fakeSenders{fs}, nil)
	jobs := make([]relayq.Job, relayq.MaxBatch+30)
	for i := range jobs {
		jobs[i] = fallbackJob(f.target(t), time.Now())
	}
	require.NoError(t, pub.Schedule(context.Background(), jobs))
	waitRelayed(t, f, jobs)
	require.EqualValues(t, len(jobs), fs.sent.Load())
}

func TestWake(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	at := func(ms int64) relayq.Job { return relayq.Job{DueMs: now.UnixMilli() + ms} }
	require.Equal(t, 10*time.Second+20*time.Millisecond, wake([]relayq.Job{at(10_000), at(10_020), at(10_005)}, now),
		"close together: when the last is due")
	require.Equal(t, 10*time.Second, wake([]relayq.Job{at(30_000), at(10_000)}, now),
		"far apart: when the first is due")
}

// A message whose wake header lies ahead waits for it, unread, even when
// the jobs inside are due already.
func TestWakeHeaderHoldsMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fs := &fakeSender{}
	_, pub := runEngine(t, Config{}, f.st, fakeSenders{fs}, nil)
	now := time.Now()
	job := fallbackJob(f.target(t), now)
	body, err := json.Marshal(map[string]any{"jobs": []relayq.Job{job}})
	require.NoError(t, err)
	wakeAt := now.Add(2 * time.Second)
	msg := &nats.Msg{Subject: relayq.SubjectFallback, Data: body,
		Header: nats.Header{relayq.HeaderWake: []string{strconv.FormatInt(wakeAt.UnixMilli(), 10)}}}
	_, err = pub.JS.PublishMsg(context.Background(), msg)
	require.NoError(t, err)
	waitRelayed(t, f, []relayq.Job{job})
	require.False(t, time.Now().Before(wakeAt), "relayed before the message's wake time")
	require.EqualValues(t, 1, fs.sent.Load())
}
