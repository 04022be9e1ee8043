package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/relayq"
	"github.com/mopush/mopush/internal/store"
)

// BenchmarkFallbackCheck times the check of one due target that the device
// did not acknowledge, up to the send job it makes: with the streams and
// outcomes in the embedded store, and in Redis (the rest embedded), read in
// one round trip as a node does, or with the reads one after the other.
func BenchmarkFallbackCheck(b *testing.B) {
	b.Run("store=pebble", func(b *testing.B) {
		f := newFixture(b)
		benchmarkCheck(b, f, f.st, Config{})
	})
	b.Run("store=redis", func(b *testing.B) {
		f := newFixture(b)
		st, rs := streamsIn(b, f)
		benchmarkCheck(b, f, st, Config{Targets: rs, Renewer: rs})
	})
	b.Run("store=redis/reads=separate", func(b *testing.B) {
		f := newFixture(b)
		st, _ := streamsIn(b, f)
		benchmarkCheck(b, f, st, Config{})
	})
}

func benchmarkCheck(b *testing.B, f *fixture, st store.Store, cfg Config) {
	ctx := context.Background()
	e := New(cfg, nil, st, nil, nil, nil)
	const targets = 256
	jobs := make([]relayq.Job, targets)
	for i := range jobs {
		j := f.target(b)
		pos, err := st.Append(ctx, []store.Entry{{DeviceID: j.DeviceID, Message: store.Message{PushID: j.PushID}}})
		require.NoError(b, err)
		j.Seq, j.Epoch, j.DueMs = pos[0].Seq, pos[0].Epoch, time.Now().UnixMilli()
		j.Vendor, j.Token = "", ""
		jobs[i] = j
	}
	i := 0
	for b.Loop() {
		send, err := e.fallback(ctx, jobs[i%targets])
		if err != nil || send == nil {
			b.Fatalf("check: %v, send job %v", err, send)
		}
		i++
	}
}
