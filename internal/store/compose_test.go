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

func (d *taggedDevices) DeviceIDsByTags(_ context.Context, appID string, tags []string, after string, limit int) ([]string, error) {
	d.got = []any{appID, tags, after, limit}
	return []string{"d1"}, nil
}

// TestComposeTags: Compose passes lookups by tag to a Devices that has a
// tag index, and answers ErrUnsupported, limit 0 included, for one that
// has none.
func TestComposeTags(t *testing.T) {
	ctx := t.Context()
	for _, limit := range []int{0, 10} {
		_, err := Compose{D: plainDevices{}}.DeviceIDsByTags(ctx, "app", []string{"a"}, "", limit)
		require.ErrorIs(t, err, ErrUnsupported, "limit %d", limit)
	}
	d := &taggedDevices{}
	ids, err := Compose{D: d}.DeviceIDsByTags(ctx, "app", []string{"a", "b"}, "d0", 10)
	require.NoError(t, err)
	require.Equal(t, []string{"d1"}, ids)
	require.Equal(t, []any{"app", []string{"a", "b"}, "d0", 10}, d.got)
}
