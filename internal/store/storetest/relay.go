package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

func (s suite) relay(t *testing.T) {
	t.Run("settings", func(t *testing.T) {
		e := s.open(t, Config{})
		a := &store.App{ID: "app-s", Name: "n", Key: "key-s", SecretHash: []byte{1}, CreatedAt: msUTC(time.Now())}
		require.NoError(t, e.CreateApp(e.ctx, a))
		st := store.Settings{AckTimeout: 3 * time.Second, PayloadMode: store.PayloadWakeup, PushRate: 250}
		require.NoError(t, e.UpdateSettings(e.ctx, a.ID, st))
		got, err := e.AppByKey(e.ctx, a.Key)
		require.NoError(t, err)
		require.Equal(t, st, got.Settings)
		require.Equal(t, a.Name, got.Name, "other fields kept")
		err = e.UpdateSettings(e.ctx, "missing", st)
		require.True(t, errors.Is(err, store.ErrNotFound), "%v", err)
	})
	t.Run("credentials", func(t *testing.T) {
		e := s.open(t, Config{})
		_, err := e.Credential(e.ctx, "a1", "apns")
		require.True(t, errors.Is(err, store.ErrNotFound), "%v", err)
		require.NoError(t, e.PutCredential(e.ctx, "a1", "fcm", []byte("sealed-fcm")))
		require.NoError(t, e.PutCredential(e.ctx, "a1", "apns", []byte("sealed-1")))
		require.NoError(t, e.PutCredential(e.ctx, "a1", "apns", []byte("sealed-2")))
		require.NoError(t, e.PutCredential(e.ctx, "a10", "hms", []byte("other app")))
		got, err := e.Credential(e.ctx, "a1", "apns")
		require.NoError(t, err)
		require.Equal(t, []byte("sealed-2"), got)
		vendors, err := e.CredentialVendors(e.ctx, "a1")
		require.NoError(t, err)
		require.Equal(t, []string{"apns", "fcm"}, vendors, "sorted, this app only")
		require.NoError(t, e.DeleteCredential(e.ctx, "a1", "apns"))
		require.NoError(t, e.DeleteCredential(e.ctx, "a1", "apns"), "deleting twice is fine")
		_, err = e.Credential(e.ctx, "a1", "apns")
		require.True(t, errors.Is(err, store.ErrNotFound), "%v", err)
	})
	t.Run("counts keep every counter", func(t *testing.T) {
		e := s.open(t, Config{})
		p := &store.Push{ID: "0000000000PUSHRELAY", AppID: "a", CreatedAt: msUTC(time.Now()), State: store.PushPending}
		_, err := e.CreatePush(e.ctx, p, "")
		require.NoError(t, err)
		d := store.Counts{Targeted: 1, Delivered: 2, Acked: 3, Offline: 4, Failed: 5, Relayed: 6,
			RelayFailed: 7, Expired: 8, NoChannel: 9, DeadTokens: 10}
		require.NoError(t, e.AddCounts(e.ctx, p.ID, d))
		require.NoError(t, e.AddCounts(e.ctx, p.ID, store.OutcomeAcked.Delta(store.OutcomeRelayed)))
		got, err := e.Push(e.ctx, p.ID)
		require.NoError(t, err)
		d.Acked, d.Relayed = 4, 5
		require.Equal(t, d, got.Counts)
	})
}

func (s suite) outcomes(t *testing.T) {
	t.Run("transitions", func(t *testing.T) {
		e := s.open(t, Config{})
		o, err := e.OutcomeOf(e.ctx, "d", 1)
		require.NoError(t, err)
		require.Equal(t, store.OutcomeNone, o)
		steps := []struct {
			set      store.Outcome
			wantPrev store.Outcome
			wantSet  bool
		}{
			{store.OutcomeRelayed, store.OutcomeNone, true},
			{store.OutcomeExpired, store.OutcomeRelayed, false},
			{store.OutcomeAcked, store.OutcomeRelayed, true},
			{store.OutcomeRelayFailed, store.OutcomeAcked, false},
			{store.OutcomeAcked, store.OutcomeAcked, false},
		}
		for _, st := range steps {
			prev, set, err := e.SetOutcome(e.ctx, "d", 1, st.set)
			require.NoError(t, err)
			require.Equal(t, st.wantPrev, prev, "setting %d", st.set)
			require.Equal(t, st.wantSet, set, "setting %d", st.set)
		}
		o, err = e.OutcomeOf(e.ctx, "d", 1)
		require.NoError(t, err)
		require.Equal(t, store.OutcomeAcked, o)
		o, err = e.OutcomeOf(e.ctx, "d", 2)
		require.NoError(t, err)
		require.Equal(t, store.OutcomeNone, o, "per message")
	})
	t.Run("race", func(t *testing.T) {
		e := s.open(t, Config{})
		var won atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 16 {
			wg.Go(func() {
				<-start
				o := store.OutcomeRelayed
				if i%2 == 0 {
					o = store.OutcomeNoChannel
				}
				_, set, err := e.SetOutcome(e.ctx, "race", 9, o)
				require.NoError(t, err)
				if set {
					won.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		require.EqualValues(t, 1, won.Load(), "exactly one first outcome")
	})
}
