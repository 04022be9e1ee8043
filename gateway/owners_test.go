package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

// deviceTable is a store of devices that counts the ids it is asked for.
type deviceTable struct {
	Store
	apps  map[string]string // device id → app id
	asked []string
}

func (d *deviceTable) Devices(_ context.Context, ids []string) ([]*store.Device, error) {
	d.asked = append(d.asked, ids...)
	out := make([]*store.Device, len(ids))
	for i, id := range ids {
		if a, ok := d.apps[id]; ok {
			out[i] = &store.Device{ID: id, AppID: a}
		}
	}
	return out, nil
}

func problemIDs(t *testing.T, err error, slug string) []string {
	t.Helper()
	var e *httpx.Error
	require.True(t, errors.As(err, &e), "want a typed error, got %v", err)
	require.Equal(t, slug, e.Slug)
	return e.Extra["device_ids"].([]string)
}

// Devices found once are checked again without a store read, and the
// refusals list the offending ids in request order either way.
func TestCheckDevicesRemembersOwners(t *testing.T) {
	st := &deviceTable{apps: map[string]string{"a1": "app", "a2": "app", "b1": "other"}}
	g := New(Config{}, st, nil, nil, nil, nil)
	r := httptest.NewRequest(http.MethodPost, "/v1/pushes", nil)

	got, err := g.checkDevices(r, "app", []string{"a1", "a2"})
	require.NoError(t, err)
	require.Equal(t, []string{"a1", "a2"}, got)
	require.Equal(t, []string{"a1", "a2"}, st.asked)

	st.asked = nil
	got, err = g.checkDevices(r, "app", []string{"a2", "a1"})
	require.NoError(t, err)
	require.Equal(t, []string{"a2", "a1"}, got)
	require.Empty(t, st.asked, "both owners were known")

	_, err = g.checkDevices(r, "app", []string{"b1", "a1", "zz"})
	require.Equal(t, []string{"b1"}, problemIDs(t, err, "foreign-device"))
	require.Equal(t, []string{"b1", "zz"}, st.asked, "only the unknown ids are read")

	// The cached foreign device is still refused; an unknown one is read
	// again, since it may have been registered meanwhile.
	st.asked = nil
	_, err = g.checkDevices(r, "app", []string{"a1", "zz", "b1"})
	require.Equal(t, []string{"b1"}, problemIDs(t, err, "foreign-device"))
	st.apps["zz"] = "app"
	got, err = g.checkDevices(r, "app", []string{"zz", "a1"})
	require.NoError(t, err)
	require.Equal(t, []string{"zz", "a1"}, got)
	require.Equal(t, []string{"zz", "zz"}, st.asked)

	_, err = g.checkDevices(r, "app", []string{"a1", "q1", "q2"})
	require.Equal(t, []string{"q1", "q2"}, problemIDs(t, err, "unknown-device"))
}

// An owner read from the store answers for ownersTTL; then the store is
// asked again, and a device deleted meanwhile is unknown. A device this
// gateway forgets is read at once.
func TestOwnersAreReadAgain(t *testing.T) {
	st := &deviceTable{apps: map[string]string{"a1": "app", "a2": "app"}}
	g := New(Config{}, st, nil, nil, nil, nil)
	now := time.Unix(1_800_000_000, 0)
	g.owners.now = func() time.Time { return now }
	r := httptest.NewRequest(http.MethodPost, "/v1/pushes", nil)

	_, err := g.checkDevices(r, "app", []string{"a1", "a2"})
	require.NoError(t, err)
	delete(st.apps, "a1")
	now = now.Add(ownersTTL - time.Second)
	st.asked = nil
	_, err = g.checkDevices(r, "app", []string{"a1", "a2"})
	require.NoError(t, err, "within the TTL the owners answer")
	require.Empty(t, st.asked)

	now = now.Add(time.Second)
	_, err = g.checkDevices(r, "app", []string{"a1", "a2"})
	require.Equal(t, []string{"a1"}, problemIDs(t, err, "unknown-device"))
	require.Equal(t, []string{"a1", "a2"}, st.asked)

	g.owners.forget("a2")
	delete(st.apps, "a2")
	st.asked = nil
	_, err = g.checkDevices(r, "app", []string{"a2"})
	require.Equal(t, []string{"a2"}, problemIDs(t, err, "unknown-device"))
	require.Equal(t, []string{"a2"}, st.asked)
}
