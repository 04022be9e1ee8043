package portal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/store"
)

type fakeStarter struct {
	mu      sync.Mutex
	started []string
	fail    bool
}

func (f *fakeStarter) Start(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("queue down")
	}
	f.started = append(f.started, id)
	return nil
}

func newCampaignHarness(t *testing.T) (*harness, *fakeStarter) {
	h := newHarness(t)
	s := &fakeStarter{}
	WithCampaigns(h.users, s)(h.p)
	return h, s
}

func TestCreateCampaign(t *testing.T) {
	h, s := newCampaignHarness(t)
	h.clock = time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC)
	h.addUser("mia@example.com", store.RoleMarketer, "a1")
	h.addUser("vic@example.com", store.RoleViewer, "a1")
	mia, _ := h.signIn("mia@example.com", "password-marketer")
	vic, _ := h.signIn("vic@example.com", "password-viewer")
	path := "/portal/api/apps/a1/campaigns"

	w := h.do(http.MethodPost, path, `{"name":"xmas","notification":{"title":"Ho"},"tags":["fans"],
		"send_at":"2026-12-24T09:00:00+05:00","local_time":true}`, mia)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var v campaignView
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
	require.Equal(t, store.CampaignScheduled, v.State)
	require.Equal(t, time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC), v.SendAt, "local time keeps the clock as written")
	require.Equal(t, []string{v.ID}, s.started, "its job was queued")
	stored, err := h.users.Campaign(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, "a1", stored.AppID)
	require.Equal(t, []string{"fans"}, stored.Audience.Tags)

	w = h.do(http.MethodPost, path, `{"name":"now","notification":{"title":"Ho"},"all_devices":true,"send_at":"2026-12-24T09:00:00+05:00"}`, mia)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
	require.Equal(t, time.Date(2026, 12, 24, 4, 0, 0, 0, time.UTC), v.SendAt, "an instant otherwise")
	require.True(t, v.AllDevices)
	stored, err = h.users.Campaign(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, store.Audience{Broadcast: true}, stored.Audience, "every device of the app")

	for _, body := range []string{
		`{"name":"","notification":{"title":"Ho"},"tags":["fans"]}`,
		`{"name":"x","notification":{},"tags":["fans"]}`,
		`{"name":"x","notification":{"title":"Ho"},"tags":[]}`,
		`{"name":"x","notification":{"title":"Ho"},"tags":["a","b","c","d","e","f","g","h","i","j","k"]}`,
		`{"name":"x","notification":{"title":"Ho"},"tags":[""]}`,
		`{"name":"x","notification":{"title":"Ho"},"tags":["fans"],"all_devices":true}`,
		`{"name":"x","notification":{"title":"Ho"},"all_devices":false}`,
		`{"name":"x","notification":{"title":"Ho"},"tags":["fans"],"local_time":true}`,
		`{"name":"x","notification":{"title":"Ho"},"tags":["fans"],"send_at":"tomorrow"}`,
		`{"name":"x","notification":{"title":"Ho"},"tags":["fans"],"send_at":"2027-06-01T00:00:00Z"}`,
		`{"name":"x","notification":{"title":"Ho"},"tags":["fans"],"rate_per_second":-1}`,
		`{"name":"x","notification":{"title":"Ho"},"tags":["fans"],"rate_per_second":10,"send_at":"2026-12-24T09:00:00Z","local_time":true}`,
	} {
		requireProblem(t, h.do(http.MethodPost, path, body, mia), http.StatusUnprocessableEntity, "invalid-campaign")
	}
	requireProblem(t, h.do(http.MethodPost, path, `{"name":"x","notification":{"title":"Ho"},"tags":["fans"]}`, vic), http.StatusForbidden, "forbidden")
	requireProblem(t, h.do(http.MethodPost, "/portal/api/apps/a2/campaigns", `{}`, mia), http.StatusNotFound, "not-found")

	// With the queue down, the campaign is kept as a draft to resume.
	s.fail = true
	w = h.do(http.MethodPost, path, `{"name":"later","notification":{"title":"Ho"},"tags":["fans"]}`, mia)
	requireProblem(t, w, http.StatusServiceUnavailable, "campaign-queue-unavailable")
	w = h.do(http.MethodGet, path, "", vic)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var list campaignList
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &list))
	require.Len(t, list.Campaigns, 3)
	require.Equal(t, "later", list.Campaigns[0].Name, "newest first")
	require.Equal(t, store.CampaignDraft, list.Campaigns[0].State)
	s.fail = false
	w = h.do(http.MethodPost, path+"/"+list.Campaigns[0].ID+"/resume", "", mia)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), `"state":"scheduled"`)
	require.Len(t, s.started, 3)
}

func TestCampaignStates(t *testing.T) {
	h, s := newCampaignHarness(t)
	h.addUser("mia@example.com", store.RoleMarketer, "a1")
	h.addUser("vic@example.com", store.RoleViewer, "a1")
	mia, _ := h.signIn("mia@example.com", "password-marketer")
	vic, _ := h.signIn("vic@example.com", "password-viewer")
	c := &store.Campaign{ID: "C1", AppID: "a1", Name: "c", State: store.CampaignRunning,
		Audience: store.Audience{Tags: []string{"fans"}}, PushIDs: []string{"P1", "P2"}}
	require.NoError(t, h.users.CreateCampaign(t.Context(), c))
	path := "/portal/api/apps/a1/campaigns/C1/"

	requireProblem(t, h.do(http.MethodPost, path+"pause", "", vic), http.StatusForbidden, "forbidden")
	w := h.do(http.MethodPost, path+"pause", "", mia)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), `"state":"paused"`)
	requireProblem(t, h.do(http.MethodPost, path+"pause", "", mia), http.StatusConflict, "campaign-state")
	w = h.do(http.MethodPost, path+"resume", "", mia)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, []string{"C1"}, s.started)

	sent := len(h.up.reqs)
	w = h.do(http.MethodPost, path+"cancel", "", mia)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), `"state":"cancelled"`)
	require.Len(t, h.up.reqs, sent+2, "each of its pushes cancelled through the push API")
	r, _ := h.up.last()
	require.Equal(t, http.MethodDelete, r.Method)
	require.Equal(t, "/v1/pushes/P2", r.URL.Path)
	require.Equal(t, "a1", r.Header.Get(httpx.AppHeader))
	requireProblem(t, h.do(http.MethodPost, path+"resume", "", mia), http.StatusConflict, "campaign-state")
	requireProblem(t, h.do(http.MethodPost, path+"explode", "", mia), http.StatusNotFound, "not-found")
	requireProblem(t, h.do(http.MethodGet, "/portal/api/apps/a1/campaigns/C9", "", vic), http.StatusNotFound, "not-found")
}

// A campaign's numbers are its pushes' numbers summed.
func TestCampaignCounts(t *testing.T) {
	h, _ := newCampaignHarness(t)
	h.addUser("vic@example.com", store.RoleViewer, "a1")
	vic, _ := h.signIn("vic@example.com", "password-viewer")
	var pushIDs []string
	for i, n := range []int64{3, 4} {
		p := &store.Push{ID: "P" + strings.Repeat("x", i+1), AppID: "a1", Notification: store.Notification{Title: "t"},
			Audience: store.Audience{DeviceIDs: []string{"d"}}, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		_, err := h.users.CreatePush(t.Context(), p, "")
		require.NoError(t, err)
		require.NoError(t, h.users.AddCounts(t.Context(), p.ID, store.Counts{Acked: n, Opened: 1}))
		pushIDs = append(pushIDs, p.ID)
	}
	c := &store.Campaign{ID: "C1", AppID: "a1", Name: "c", State: store.CampaignDone, Sent: 7, PushIDs: append(pushIDs, "gone")}
	require.NoError(t, h.users.CreateCampaign(t.Context(), c))
	w := h.do(http.MethodGet, "/portal/api/apps/a1/campaigns/C1", "", vic)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var v campaignView
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
	require.EqualValues(t, 7, v.Counts.Acked)
	require.EqualValues(t, 2, v.Counts.Opened)
	require.Equal(t, 3, v.Pushes)
}

func TestCampaignsOff(t *testing.T) {
	h := newHarness(t)
	h.addUser("mia@example.com", store.RoleMarketer, "a1")
	mia, _ := h.signIn("mia@example.com", "password-marketer")
	requireProblem(t, h.do(http.MethodGet, "/portal/api/apps/a1/campaigns", "", mia), http.StatusNotImplemented, "campaigns-unsupported")
}
