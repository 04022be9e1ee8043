package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/obs/obstest"
	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/redisstore"
	"github.com/mopush/mopush/internal/testsrv"
)

// streamsIn returns the fixture's store with the streams and outcomes in
// Redis (the rest embedded), as a cluster keeps them, and that Redis store.
func streamsIn(t testing.TB, f *fixture) (store.Store, *redisstore.Store) {
	srv := testsrv.StartRedis(t)
	rs, err := redisstore.Open(t.Context(), redisstore.Config{Addrs: []string{srv.Addr}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rs.Close()) })
	return store.Compose{A: f.st, D: f.st, S: rs, P: f.st, C: f.st, O: rs, K: f.st, U: f.st}, rs
}

// A check whose message its device's stream no longer holds at the
// check's position (a Redis shard that lost its newest writes and reused
// their numbers, a stream started again under a new epoch) must not read
// the watermark or the outcome there: they are other messages'. Before, the
// first two cases below counted as acknowledged, and the third relayed
// with an outcome recorded at a position a later message takes. Checked
// with the reads one after the other (the embedded store) and in one round
// trip (Redis).
func TestCheckRelaysAMessageTheStreamLost(t *testing.T) {
	for _, where := range []string{"pebble", "redis"} {
		t.Run("store="+where, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			renewer := &renewals{}
			cfg := Config{Renewer: renewer}
			var st store.Store = f.st
			if where == "redis" {
				var rs *redisstore.Store
				st, rs = streamsIn(t, f)
				cfg.Targets = rs
			}
			checkRelaysAMessageTheStreamLost(t, f, st, cfg, renewer)
		})
	}
}

func checkRelaysAMessageTheStreamLost(t *testing.T, f *fixture, st store.Store, cfg Config, renewer *renewals) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	e := New(cfg, nil, st, nil, nil, reg)
	// appended makes a target and appends a message of push to its stream
	// (the target's own push when push is ""), acknowledged when acked.
	appended := func(push string, acked bool) (relayq.Job, store.Position) {
		j := f.target(t)
		if push == "" {
			push = j.PushID
		}
		pos, err := st.Append(ctx, []store.Entry{{DeviceID: j.DeviceID, Message: store.Message{PushID: push}}})
		require.NoError(t, err)
		if acked {
			_, err = st.Advance(ctx, j.DeviceID, store.MarkAcked, pos[0].Seq)
			require.NoError(t, err)
		}
		j.Seq, j.Epoch, j.DueMs = pos[0].Seq, pos[0].Epoch, time.Now().UnixMilli()
		return j, pos[0]
	}
	replaced, at := appended("another-push", true) // its number went to another push
	otherEpoch, _ := appended("a-third-push", true)
	otherEpoch.Epoch++ // the stream it was in is gone, and a new one has another push there
	pastHead, _ := appended("", false)
	pastHead.Seq += 2 // the stream lost it and has not come back that far

	for _, j := range []relayq.Job{replaced, otherEpoch, pastHead} {
		send, err := e.fallback(ctx, j)
		require.NoError(t, err)
		require.NotNil(t, send, "relayed: nothing says the device has it")
		require.Zero(t, send.Seq, "a target outside the stream")
		require.Zero(t, send.Epoch)
		require.Equal(t, "apns", send.Vendor)
		_, err = e.result(ctx, msgStub{delivered: 1}, *send, nil)
		require.NoError(t, err)
	}
	e.sums.Flush(ctx)
	for _, j := range []relayq.Job{replaced, otherEpoch, pastHead} {
		require.Equal(t, store.Counts{Relayed: 1}, f.counts(t, j.PushID))
		o, err := outcome.Of(ctx, st, outcome.Target{DeviceID: j.DeviceID, PushID: j.PushID})
		require.NoError(t, err)
		require.Equal(t, store.OutcomeRelayed, o)
	}
	o, err := st.OutcomeOf(ctx, replaced.DeviceID, at.Seq)
	require.NoError(t, err)
	require.Equal(t, store.OutcomeNone, o, "the other push's message keeps its own outcome")
	o, err = st.OutcomeOf(ctx, pastHead.DeviceID, pastHead.Seq)
	require.NoError(t, err)
	require.Equal(t, store.OutcomeNone, o, "nothing recorded where a later message will be")
	require.Equal(t, 3.0, obstest.Value(t, reg, "push_relay_messages_gone_total", nil))
	require.Equal(t, []string{fmt.Sprintf("%s@%d", replaced.DeviceID, replaced.Epoch),
		fmt.Sprintf("%s@%d", pastHead.DeviceID, pastHead.Epoch)}, renewer.made(),
		"the two streams that went back in their epoch move to a new one")

	// A message that is where its check says is checked as before, and so
	// is one whose stream moved to a new epoch keeping its numbers.
	acked, _ := appended("", true)
	send, err := e.fallback(ctx, acked)
	require.NoError(t, err)
	require.Nil(t, send, "acknowledged")
	renewed, _ := appended("", true)
	renewed.Epoch++
	send, err = e.fallback(ctx, renewed)
	require.NoError(t, err)
	require.Nil(t, send, "acknowledged in the stream's new epoch")
	live, _ := appended("", false)
	send, err = e.fallback(ctx, live)
	require.NoError(t, err)
	require.NotNil(t, send)
	require.Equal(t, live.Seq, send.Seq, "relayed at its position")
	recorded, _ := appended("", false)
	_, _, err = st.SetOutcome(ctx, recorded.DeviceID, recorded.Seq, store.OutcomeExpired)
	require.NoError(t, err)
	send, err = e.fallback(ctx, recorded)
	require.NoError(t, err)
	require.Nil(t, send, "an outcome recorded at its position settles it")
	require.Equal(t, 3.0, obstest.Value(t, reg, "push_relay_messages_gone_total", nil))
	require.Len(t, renewer.made(), 2)
}

// TestReadTargetMatchesTheReads: the one-round-trip read gives what the
// reads one after the other give.
func TestReadTargetMatchesTheReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	st, rs := streamsIn(t, f)
	ctx := context.Background()
	generic := New(Config{}, nil, st, nil, nil, nil)
	one := New(Config{Targets: rs}, nil, st, nil, nil, nil)
	j := f.target(t)
	pos, err := st.Append(ctx, []store.Entry{{DeviceID: j.DeviceID, Message: store.Message{PushID: j.PushID}},
		{DeviceID: j.DeviceID, Message: store.Message{PushID: "later"}}})
	require.NoError(t, err)
	_, err = st.Advance(ctx, j.DeviceID, store.MarkAcked, 1)
	require.NoError(t, err)
	_, _, err = st.SetOutcome(ctx, j.DeviceID, 2, store.OutcomeRelayed)
	require.NoError(t, err)
	for _, seq := range []uint64{1, 2, 3} {
		job := j
		job.Seq, job.Epoch = seq, pos[0].Epoch
		want, err := generic.readTarget(ctx, job)
		require.NoError(t, err)
		got, err := one.readTarget(ctx, job)
		require.NoError(t, err)
		require.Equal(t, want, got, "seq %d", seq)
	}
	got, err := one.readTarget(ctx, relayq.Job{DeviceID: "none", Seq: 1, Epoch: 5})
	require.NoError(t, err)
	require.Equal(t, store.Target{}, got, "no stream")
}

// renewals records the streams a check moved to a new epoch, as
// "device@epoch".
type renewals struct {
	mu    sync.Mutex
	calls []string
}

func (r *renewals) RenewEpoch(_ context.Context, deviceID string, epoch uint64) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s@%d", deviceID, epoch))
	return epoch + 1, nil
}

func (r *renewals) made() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}
