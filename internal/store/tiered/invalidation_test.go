package tiered

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/redisstore"
	"github.com/mopush/mopush/internal/testsrv"
)

// nodes is two Tiered instances, A and B, over the same L1 servers and
// prefix and the same L2, as two nodes of a cluster are.
type nodes struct {
	a, b *Tiered
	l2   store.Devices
}

// openNodes opens two nodes whose L0 keeps entries far longer than any wait
// of the tests, so that only invalidation can make A see B's writes.
func openNodes(t *testing.T) nodes {
	t.Helper()
	l2 := openPebble(t)
	cfg := Config{L0TTL: time.Hour, L1: redisstore.Config{Prefix: uniquePrefix()}}
	return nodes{a: open(t, cfg, l2), b: open(t, cfg, l2), l2: l2}
}

// readOne reads one device through tr and fails the test when it is
// missing.
func readOne(t *testing.T, tr *Tiered, id string) *store.Device {
	t.Helper()
	got, err := tr.Devices(t.Context(), []string{id})
	require.NoError(t, err)
	require.NotNil(t, got[0])
	return got[0]
}

// TestCrossNodeWrites: however node A came to hold a device in L0 (a cold
// read, which L2 answered and A wrote back to L1; a read from L1; its own
// PutDevice; its own report), a later write of the device by node B
// (PutDevice, or a report) reaches A's reads. B sees its own write at once.
func TestCrossNodeWrites(t *testing.T) {
	t.Parallel()
	firsts := []struct {
		name string
		// first stores d where A will find it, through A, B or L2.
		first func(ctx context.Context, n nodes, d *store.Device) error
	}{
		{"cold-read", func(ctx context.Context, n nodes, d *store.Device) error { return n.l2.PutDevice(ctx, d) }},
		{"l1-read", func(ctx context.Context, n nodes, d *store.Device) error { return n.b.PutDevice(ctx, d) }},
		{"own-put", func(ctx context.Context, n nodes, d *store.Device) error { return n.a.PutDevice(ctx, d) }},
		{"own-report", func(ctx context.Context, n nodes, d *store.Device) error {
			older := d.Clone()
			older.LastSeen = d.LastSeen.Add(-time.Minute)
			if err := n.l2.PutDevice(ctx, older); err != nil {
				return err
			}
			return n.a.ReportWait(ctx, d.ID, Fields{LastSeen: d.LastSeen})
		}},
	}
	changes := []struct {
		name   string
		change func(ctx context.Context, b *Tiered, d *store.Device) error
		done   func(d *store.Device) bool
	}{
		{"put", func(ctx context.Context, b *Tiered, d *store.Device) error {
			c := d.Clone()
			c.Locale = "fr-FR"
			return b.PutDevice(ctx, c)
		}, func(d *store.Device) bool { return d.Locale == "fr-FR" }},
		{"report", func(ctx context.Context, b *Tiered, d *store.Device) error {
			return b.ReportWait(ctx, d.ID, Fields{Locale: "de-DE", Tokens: map[string]string{"apns": "apns-tok"}})
		}, func(d *store.Device) bool { return d.Locale == "de-DE" && d.Tokens["apns"] == "apns-tok" }},
	}
	for _, f := range firsts {
		for _, c := range changes {
			t.Run(fmt.Sprintf("a=%s/b=%s", f.name, c.name), func(t *testing.T) {
				t.Parallel()
				n := openNodes(t)
				ctx := t.Context()
				d := newDevice(1)
				require.NoError(t, f.first(ctx, n, d))
				key := n.a.DeviceKey(d.ID)
				// A reads the device, as a gateway checking a push's
				// targets does, until L0 serves it.
				testsrv.WaitFor(t, 10*time.Second, func() bool {
					require.Equal(t, d, readOne(t, n.a, d.ID))
					_, ok := n.a.l0.Get(key)
					return ok
				})

				require.NoError(t, c.change(ctx, n.b, d))
				require.True(t, c.done(readOne(t, n.b, d.ID)), "B reads its own write")
				testsrv.WaitFor(t, 20*time.Second, func() bool { return c.done(readOne(t, n.a, d.ID)) })
			})
		}
	}
}

// TestOwnWriteLeavesL0: with tracking, a write empties this node's L0 entry
// rather than filling it, and the next read fills it from L1 with the
// written value.
func TestOwnWriteLeavesL0(t *testing.T) {
	t.Parallel()
	n := openNodes(t)
	ctx := t.Context()
	d := newDevice(1)
	require.NoError(t, n.a.PutDevice(ctx, d))
	key := n.a.DeviceKey(d.ID)
	testsrv.WaitFor(t, 10*time.Second, func() bool {
		require.Equal(t, d, readOne(t, n.a, d.ID))
		_, ok := n.a.l0.Get(key)
		return ok
	})
	d.Platform = "ios"
	require.NoError(t, n.a.PutDevice(ctx, d))
	_, ok := n.a.l0.Get(key)
	require.False(t, ok)
	require.Equal(t, d, readOne(t, n.a, d.ID))
}
