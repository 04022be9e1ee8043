package taskcontainer

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/bus"
	"github.com/mopush/mopush/internal/store"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Jobs go through JetStream: a started campaign is sent by a running
// runner, a bad job is dropped, and on shutdown Run returns.
func TestRunnerTakesJobsFromTheQueue(t *testing.T) {
	b, err := bus.Open(bus.Config{Dir: t.TempDir()}, nil)
	require.NoError(t, err)
	defer b.Close()
	h := newHarness(t, Config{PageSize: 50})
	h.r.js = b.JS
	h.r.now, h.r.sleep = time.Now, sleepCtx
	h.devices(120, "fans", "")
	c := h.campaign(nil)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.r.Run(ctx) }()
	pub := Publisher{JS: b.JS}
	require.NoError(t, pub.Start(t.Context(), c.ID))
	for _, bad := range []string{`{"campaign_id":""}`, `not json`} {
		_, err = b.JS.Publish(t.Context(), SubjectRun, []byte(bad))
		require.NoError(t, err)
	}
	waitFor(t, "the campaign done", func() bool { return h.stored(c.ID).State == store.CampaignDone })
	require.Len(t, h.p.reached(), 120)

	s, err := b.JS.Stream(t.Context(), Stream)
	require.NoError(t, err)
	waitFor(t, "every job settled", func() bool {
		info, err := s.Info(t.Context())
		return err == nil && info.State.Msgs == 0
	})
	cancel()
	require.NoError(t, <-done)
	cons, err := s.Consumer(t.Context(), consumer)
	require.NoError(t, err)
	info, err := cons.Info(t.Context())
	require.NoError(t, err)
	require.Zero(t, info.NumAckPending)
}
