package node

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/config"
	"github.com/mopush/mopush/sdkproto/client"
)

// portalSession signs a portal user in and returns the headers of its
// later calls: the session cookie and the portal header.
func portalSession(a api, email, password string) http.Header {
	a.t.Helper()
	hdr := http.Header{"Mopush-Portal": {"1"}}
	code, out, h := a.do(http.MethodPost, "/portal/api/session", "", "", map[string]string{"email": email, "password": password}, hdr)
	require.Equal(a.t, http.StatusOK, code, "%v", out)
	resp := http.Response{Header: h}
	for _, c := range resp.Cookies() {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	return hdr
}

// TestCampaignsInLocalTime: a campaign made in the portal to a tag, at
// an hour from now by the clock in each device's own time zone, goes through the campaign queue
// and the push API: devices where that time came get it at once, the one
// where it is an hour ahead gets a scheduled push, which cancelling the
// campaign cancels. The campaign's numbers are its pushes' numbers. Then
// one to every device of the app reaches the untagged device too. On the
// embedded store and on the clustered one (MongoDB behind the caches).
func TestCampaignsInLocalTime(t *testing.T) {
	onBothStores(t, campaignsInLocalTime)
}

func campaignsInLocalTime(t *testing.T, cluster func(*config.Config)) {
	n, _ := startNodeWith(t, Options{}, cluster)
	a := api{t: t, base: n.URL()}
	shop := a.createApp(n.AdminToken(), "shop")
	code, out, _ := a.do(http.MethodPost, "/portal/api/users", "", "",
		map[string]any{"email": "mia@example.com", "password": "password-mia", "role": "marketer", "apps": []string{shop.id}},
		http.Header{"Authorization": {"Bearer " + n.AdminToken()}})
	require.Equal(t, http.StatusCreated, code, "%v", out)
	mia := portalSession(a, "mia@example.com", "password-mia")

	// The wall-clock time an hour from now, as written in UTC: it has come
	// in UTC+1 (Berlin in winter; Lagos all year) and in UTC+14, and comes in
	// an hour in UTC.
	now := time.Now().UTC()
	wall := now.Add(time.Hour).Truncate(time.Second)
	zoned := func(zone string) *device {
		d := newDevice(t, n.URL(), shop.key, client0())
		d.registerWith(client.Registration{Platform: "test", Tags: []string{"fans"}, TimeZone: zone})
		d.start()
		d.waitReady()
		return d
	}
	lagos, kiritimati, london := zoned("Africa/Lagos"), zoned("Pacific/Kiritimati"), zoned("Etc/UTC")
	other := newDevice(t, n.URL(), shop.key, client0())
	other.registerWith(client.Registration{Platform: "test", Tags: []string{"others"}, TimeZone: "Africa/Lagos"})
	other.start()
	other.waitReady()

	path := "/portal/api/apps/" + shop.id + "/campaigns"
	code, out, _ = a.do(http.MethodPost, path, "", "", map[string]any{
		"name": "breakfast", "notification": map[string]string{"title": "Good morning"}, "tags": []string{"fans"},
		"send_at": wall.Format(time.RFC3339), "local_time": true,
	}, mia)
	require.Equal(t, http.StatusCreated, code, "%v", out)
	id := out["id"].(string)

	var pushed []any
	waitFor(t, 20*time.Second, "the campaign done", func() bool {
		code, out, _ = a.do(http.MethodGet, path+"/"+id, "", "", nil, mia)
		require.Equal(t, http.StatusOK, code, "%v", out)
		return out["state"] == "done"
	})
	require.EqualValues(t, 3, out["sent"])
	pushed = nil
	for _, d := range []*device{lagos, kiritimati} {
		waitFor(t, 20*time.Second, "the push where 09:00 came", func() bool { return len(d.got()) == 1 })
		require.Equal(t, "Good morning", d.got()[0].Title)
		pushed = append(pushed, d.got()[0].ID)
	}
	waitFor(t, 20*time.Second, "both acknowledged", func() bool {
		_, out, _ = a.do(http.MethodGet, path+"/"+id, "", "", nil, mia)
		return out["counts"].(map[string]any)["acked"] == 2.0
	})
	require.Empty(t, london.got(), "not yet 09:00 in UTC")
	require.Empty(t, other.got(), "no tag, no push")

	// The scheduled push of the UTC device is the campaign's other push.
	code, list, _ := a.do(http.MethodGet, "/v1/pushes?state=scheduled", shop.key, shop.secret, nil, nil)
	require.Equal(t, http.StatusOK, code)
	scheduled := list["pushes"].([]any)
	require.Len(t, scheduled, 1)
	later := scheduled[0].(map[string]any)
	require.Equal(t, wall.Format(time.RFC3339), later["send_at"])
	require.NotContains(t, pushed, later["push_id"])

	// Cancelling the campaign cancels what has not gone out yet: the
	// scheduled push; a second cancel is refused.
	code, out, _ = a.do(http.MethodPost, path+"/"+id+"/cancel", "", "", nil, mia)
	require.Equal(t, http.StatusOK, code, "%v", out)
	require.Equal(t, "cancelled", out["state"])
	require.Equal(t, "cancelled", a.state(shop, later["push_id"].(string)))
	code, out, _ = a.do(http.MethodPost, path+"/"+id+"/cancel", "", "", nil, mia)
	require.Equal(t, http.StatusConflict, code, "%v", out)
	require.Equal(t, "cancelled", out["state"])

	// To every device of the app, untagged ones too, at the same clock
	// time: the device without the tag gets this one at once.
	code, out, _ = a.do(http.MethodPost, path, "", "", map[string]any{
		"name": "everyone", "notification": map[string]string{"title": "Hello all"}, "all_devices": true,
		"send_at": wall.Format(time.RFC3339), "local_time": true,
	}, mia)
	require.Equal(t, http.StatusCreated, code, "%v", out)
	everyone := out["id"].(string)
	waitFor(t, 20*time.Second, "the second campaign done", func() bool {
		_, out, _ = a.do(http.MethodGet, path+"/"+everyone, "", "", nil, mia)
		return out["state"] == "done"
	})
	require.EqualValues(t, 4, out["sent"])
	for _, d := range []*device{lagos, kiritimati, other} {
		waitFor(t, 20*time.Second, "the push to everyone", func() bool {
			g := d.got()
			return len(g) > 0 && g[len(g)-1].Title == "Hello all"
		})
	}
	require.Empty(t, london.got(), "its 09:00 is still an hour away")

	code, out, _ = a.do(http.MethodGet, path, "", "", nil, mia)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, out["campaigns"], 2)
}
