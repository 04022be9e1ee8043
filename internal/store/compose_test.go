package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// devices is Devices under a name a struct can embed without its field
// hiding the Devices method.
type devices interface{ Devices }

// plainDevices is a Devices without a tag index; its methods are never
// called.
type plainDevices struct{ devices }

// taggedDevices is a Devices with a tag index that records its call.
type taggedDevices struct {
	plainDevices
	got []any
}

var _ TagIndex = (*taggedDevices)(nil)

func (d *taggedDevices) DeviceIDsByTags(_ context.Context, appID string, tags []string, after string, limit int) ([]string, error) {
	d.got = []any{"by tags", appID, tags, after, limit}
	return []string{"d1"}, nil
}

func (d *taggedDevices) DeviceIDsByApp(_ context.Context, appID string, after string, limit int) ([]string, error) {
	d.got = []any{"by app", appID, after, limit}
	return []string{"d2"}, nil
}

// TestComposeTags: Compose passes lookups by tag, and listings of an
// app's devices, to a Devices that has a tag index, and answers
// ErrUnsupported, limit 0 included, for one that has none.
func TestComposeTags(t *testing.T) {
	ctx := t.Context()
	for _, limit := range []int{0, 10} {
		_, err := Compose{D: plainDevices{}}.DeviceIDsByTags(ctx, "app", []string{"a"}, "", limit)
		require.ErrorIs(t, err, ErrUnsupported, "by tags, limit %d", limit)
		_, err = Compose{D: plainDevices{}}.DeviceIDsByApp(ctx, "app", "", limit)
		require.ErrorIs(t, err, ErrUnsupported, "by app, limit %d", limit)
	}
	d := &taggedDevices{}
	ids, err := Compose{D: d}.DeviceIDsByTags(ctx, "app", []string{"a", "b"}, "d0", 10)
	require.NoError(t, err)
	require.Equal(t, []string{"d1"}, ids)
	require.Equal(t, []any{"by tags", "app", []string{"a", "b"}, "d0", 10}, d.got)
	ids, err = Compose{D: d}.DeviceIDsByApp(ctx, "app", "d1", 5)
	require.NoError(t, err)
	require.Equal(t, []string{"d2"}, ids)
	require.Equal(t, []any{"by app", "app", "d1", 5}, d.got)
}

// pushes is Pushes under a name a struct can embed.
type pushes interface{ Pushes }

// plainPushes is a Pushes without Engagements; its methods are never
// called.
type plainPushes struct{ pushes }

// engagedPushes is a Pushes with Engagements that records its call.
type engagedPushes struct {
	plainPushes
	got []any
}

func (p *engagedPushes) CountEngagement(_ context.Context, pushID, deviceID, kind string) (bool, error) {
	p.got = []any{pushID, deviceID, kind}
	return true, nil
}

// TestComposeEngagements: Compose passes engagements to a Pushes that
// counts them, and answers ErrUnsupported for one that does not.
func TestComposeEngagements(t *testing.T) {
	ctx := t.Context()
	counted, err := Compose{P: plainPushes{}}.CountEngagement(ctx, "p", "d", EngagementOpen)
	require.ErrorIs(t, err, ErrUnsupported)
	require.False(t, counted)
	p := &engagedPushes{}
	counted, err = Compose{P: p}.CountEngagement(ctx, "p", "d", EngagementClick)
	require.NoError(t, err)
	require.True(t, counted)
	require.Equal(t, []any{"p", "d", EngagementClick}, p.got)
}

// listedPushes is a Pushes with PushLister that records its call.
type listedPushes struct {
	plainPushes
	got []any
}

func (p *listedPushes) PushIDsByApp(_ context.Context, appID, before string, limit int) ([]string, error) {
	p.got = []any{appID, before, limit}
	return []string{"p1"}, nil
}

// TestComposePushLister: Compose passes listings of an app's pushes to a
// Pushes that lists them, and answers ErrUnsupported, limit 0 included,
// for one that does not.
func TestComposePushLister(t *testing.T) {
	ctx := t.Context()
	for _, limit := range []int{0, 10} {
		_, err := Compose{P: plainPushes{}}.PushIDsByApp(ctx, "app", "", limit)
		require.ErrorIs(t, err, ErrUnsupported, "limit %d", limit)
	}
	p := &listedPushes{}
	ids, err := Compose{P: p}.PushIDsByApp(ctx, "app", "p2", 10)
	require.NoError(t, err)
	require.Equal(t, []string{"p1"}, ids)
	require.Equal(t, []any{"app", "p2", 10}, p.got)
}

func TestEngagementDelta(t *testing.T) {
	d, err := EngagementDelta(EngagementOpen)
	require.NoError(t, err)
	require.Equal(t, Counts{Opened: 1}, d)
	d, err = EngagementDelta(EngagementClick)
	require.NoError(t, err)
	require.Equal(t, Counts{Clicked: 1}, d)
	for _, kind := range []string{"", "opened", "Open", "share"} {
		_, err = EngagementDelta(kind)
		require.Error(t, err, "kind %q", kind)
	}
}
