package taskcontainer

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/pebblestore"
)

// fakePusher stands in for the push API: the same key gives the same push,
// devices in unknown are refused as the API refuses them, and onPush runs
// before each push is accepted.
type fakePusher struct {
	mu        sync.Mutex
	byKey     map[string]string
	pages     map[string]Page // push id -> page
	keys      []string
	unknown   map[string]bool
	cancelled []string
	onPush    func(n int)
}

func newFakePusher() *fakePusher {
	return &fakePusher{byKey: map[string]string{}, pages: map[string]Page{}, unknown: map[string]bool{}}
}

func (f *fakePusher) Push(_ context.Context, _ string, p Page, key string) (string, error) {
	f.mu.Lock()
	var refused []string
	for _, d := range p.DeviceIDs {
		if f.unknown[d] {
			refused = append(refused, d)
		}
	}
	if len(refused) > 0 {
		f.mu.Unlock()
		return "", &UnknownDevices{IDs: refused}
	}
	f.keys = append(f.keys, key)
	id, ok := f.byKey[key]
	if !ok {
		id = fmt.Sprintf("P%03d", len(f.pages))
		f.byKey[key] = id
		f.pages[id] = p
	}
	n, hook := len(f.pages), f.onPush
	f.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return id, nil
}

func (f *fakePusher) Cancel(_ context.Context, _, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	return nil
}

// reached counts how many pushes reached each device.
func (f *fakePusher) reached() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, p := range f.pages {
		for _, d := range p.DeviceIDs {
			out[d]++
		}
	}
	return out
}

type harness struct {
	t     testing.TB
	st    *pebblestore.Store
	p     *fakePusher
	r     *Runner
	mu    sync.Mutex
	clock time.Time
	slept []time.Duration
}

func newHarness(t testing.TB, cfg Config) *harness {
	st, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, st: st, p: newFakePusher(), clock: time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC)}
	h.r = New(cfg, nil, st, h.p, nil, nil)
	h.r.now = func() time.Time {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.clock
	}
	h.r.sleep = func(_ context.Context, d time.Duration) bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.slept = append(h.slept, d)
		h.clock = h.clock.Add(d)
		return true
	}
	return h
}

// devices stores n devices of app a1 with the tag (and zone), and returns
// their ids.
func (h *harness) devices(n int, tag, zone string) []string {
	var out []string
	for range n {
		d := &store.Device{ID: ids.New(), AppID: "a1", Secret: []byte("s"), Tags: []string{tag}, TimeZone: zone, CreatedAt: time.Now()}
		require.NoError(h.t, h.st.PutDevice(h.t.Context(), d))
		out = append(out, d.ID)
	}
	return out
}

func (h *harness) campaign(mutate func(*store.Campaign)) *store.Campaign {
	c := &store.Campaign{ID: ids.New(), AppID: "a1", Name: "c", State: store.CampaignScheduled,
		Notification: store.Notification{Title: "hi"}, Audience: store.Audience{Tags: []string{"fans"}}}
	if mutate != nil {
		mutate(c)
	}
	require.NoError(h.t, h.st.CreateCampaign(h.t.Context(), c))
	return c
}

func (h *harness) stored(id string) *store.Campaign {
	c, err := h.st.Campaign(h.t.Context(), id)
	require.NoError(h.t, err)
	return c
}

// setState writes a state as the portal does: read, change, compare-and-set.
func (h *harness) setState(id, state string) {
	for {
		c := h.stored(id)
		c.State = state
		if err := h.st.UpdateCampaign(context.Background(), c); err == nil {
			return
		}
	}
}

func TestCampaignSendsEveryDeviceOnceInPages(t *testing.T) {
	h := newHarness(t, Config{PageSize: 500})
	fans := h.devices(1150, "fans", "")
	h.devices(20, "others", "")
	c := h.campaign(nil)

	wait, err := h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Zero(t, wait)
	got := h.stored(c.ID)
	require.Equal(t, store.CampaignDone, got.State)
	require.EqualValues(t, 1150, got.Sent)
	require.Len(t, got.PushIDs, 3, "pages of 500, 500 and 150")
	reached := h.p.reached()
	require.Len(t, reached, 1150, "no device without the tag")
	for _, id := range fans {
		require.Equal(t, 1, reached[id], id)
	}
	for _, id := range got.PushIDs {
		require.True(t, h.p.pages[id].SendAt.IsZero(), "sent at once")
		require.Equal(t, "hi", h.p.pages[id].Notification.Title)
	}

	// Done is done: another job for it sends nothing.
	_, err = h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Len(t, h.p.keys, 3)
}

func TestCampaignWaitsForItsSendTime(t *testing.T) {
	h := newHarness(t, Config{})
	h.devices(3, "fans", "")
	c := h.campaign(func(c *store.Campaign) { c.SendAt = h.clock.Add(90 * time.Second) })
	wait, err := h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Equal(t, maxWait, wait, "put aside for at most a minute at a time")
	h.clock = h.clock.Add(time.Minute)
	wait, err = h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, wait)
	require.Empty(t, h.p.keys)
	require.Equal(t, store.CampaignScheduled, h.stored(c.ID).State)
	h.clock = h.clock.Add(30 * time.Second)
	wait, err = h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Zero(t, wait)
	require.Equal(t, store.CampaignDone, h.stored(c.ID).State)
	require.Len(t, h.p.reached(), 3)
}

// A pause written while a page is sent stops the campaign after that page
// with its progress kept; resumed, it goes on from there: each device once.
func TestCampaignPausesAndResumes(t *testing.T) {
	h := newHarness(t, Config{PageSize: 100})
	fans := h.devices(450, "fans", "")
	c := h.campaign(nil)
	h.p.onPush = func(n int) {
		if n == 2 {
			h.setState(c.ID, store.CampaignPaused)
		}
	}
	_, err := h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	got := h.stored(c.ID)
	require.Equal(t, store.CampaignPaused, got.State)
	require.EqualValues(t, 200, got.Sent, "the page under way when the pause came counts")
	require.Len(t, got.PushIDs, 2)

	_, err = h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Len(t, h.p.keys, 2, "a paused campaign sends nothing")

	h.p.onPush = nil
	h.setState(c.ID, store.CampaignRunning)
	_, err = h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	got = h.stored(c.ID)
	require.Equal(t, store.CampaignDone, got.State)
	require.EqualValues(t, 450, got.Sent)
	reached := h.p.reached()
	for _, id := range fans {
		require.Equal(t, 1, reached[id])
	}
}

// failingUpdates fails the campaign checkpoints while fail is set, as a
// crash right after a page was sent would lose them.
type failingUpdates struct {
	*pebblestore.Store
	mu   sync.Mutex
	fail bool
}

func (f *failingUpdates) UpdateCampaign(ctx context.Context, c *store.Campaign) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail && c.State == store.CampaignRunning && c.Cursor != "" {
		return fmt.Errorf("store down")
	}
	return f.Store.UpdateCampaign(ctx, c)
}

// A page whose checkpoint was lost is sent again with the same key, so the
// push API hands back the push it has: no device gets it twice.
func TestCampaignPageSentAgainIsTheSamePush(t *testing.T) {
	h := newHarness(t, Config{PageSize: 100})
	h.devices(250, "fans", "")
	c := h.campaign(nil)
	fs := &failingUpdates{Store: h.st, fail: true}
	h.r.store = fs
	_, err := h.r.Step(t.Context(), c.ID)
	require.Error(t, err)
	require.Len(t, h.p.keys, 1)

	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	_, err = h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Equal(t, h.p.keys[0], h.p.keys[1], "the first page again, under its key")
	got := h.stored(c.ID)
	require.Equal(t, store.CampaignDone, got.State)
	require.Len(t, got.PushIDs, 3)
	require.Len(t, h.p.pages, 3, "three pushes, not four")
	for d, n := range h.p.reached() {
		require.Equal(t, 1, n, d)
	}
}

func TestCampaignInLocalTime(t *testing.T) {
	h := newHarness(t, Config{})
	kiritimati := h.devices(2, "fans", "Pacific/Kiritimati") // UTC+14
	berlin := h.devices(3, "fans", "Europe/Berlin")          // UTC+1 in December
	york := h.devices(1, "fans", "America/New_York")         // UTC-5
	utc := h.devices(1, "fans", "")
	bogus := h.devices(1, "fans", "Mars/Olympus_Mons")
	wall := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC) // 09:00 wherever the device is
	c := h.campaign(func(c *store.Campaign) { c.SendAt, c.LocalTime = wall, true })

	h.clock = wall.Add(-14*time.Hour - time.Minute)
	wait, err := h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Equal(t, time.Minute, wait, "it starts when 09:00 comes in UTC+14")
	h.clock = h.clock.Add(time.Minute)
	_, err = h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Equal(t, store.CampaignDone, h.stored(c.ID).State)

	at := map[string]time.Time{}
	for _, p := range h.p.pages {
		for _, d := range p.DeviceIDs {
			at[d] = p.SendAt
		}
	}
	for _, d := range kiritimati {
		require.True(t, at[d].IsZero(), "due now: sent at once")
	}
	for _, d := range berlin {
		require.Equal(t, time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC), at[d])
	}
	require.Equal(t, time.Date(2026, 12, 24, 14, 0, 0, 0, time.UTC), at[york[0]])
	require.Equal(t, wall, at[utc[0]], "no zone: UTC")
	require.Equal(t, wall, at[bogus[0]], "an unknown zone: UTC")
	require.Len(t, h.p.pages, 4, "one push per distinct instant")
}

// A cancel written while a page is sent cancels that page's (scheduled)
// pushes, and nothing more is sent.
func TestCampaignCancelledMidPage(t *testing.T) {
	h := newHarness(t, Config{PageSize: 2})
	h.devices(6, "fans", "America/New_York")
	wall := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)
	c := h.campaign(func(c *store.Campaign) { c.SendAt, c.LocalTime = wall, true })
	h.clock = wall.Add(-14 * time.Hour)
	h.p.onPush = func(n int) {
		if n == 2 {
			h.setState(c.ID, store.CampaignCancelled)
		}
	}
	_, err := h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Equal(t, store.CampaignCancelled, h.stored(c.ID).State)
	require.Len(t, h.p.pages, 2)
	require.Equal(t, []string{"P001"}, h.p.cancelled, "the push of the page under way")
}

func TestCampaignLeavesOutDeletedDevices(t *testing.T) {
	h := newHarness(t, Config{})
	fans := h.devices(5, "fans", "")
	h.p.unknown[fans[2]] = true
	c := h.campaign(nil)
	_, err := h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	got := h.stored(c.ID)
	require.EqualValues(t, 4, got.Sent)
	require.NotContains(t, h.p.reached(), fans[2])
}

func TestCampaignIsPaced(t *testing.T) {
	h := newHarness(t, Config{})
	h.devices(1000, "fans", "")
	c := h.campaign(func(c *store.Campaign) { c.RatePerSecond = 200 })
	_, err := h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	require.Len(t, h.p.pages, 5, "pages of at most one second's worth")
	var total time.Duration
	for _, d := range h.slept {
		total += d
	}
	require.Equal(t, 5*time.Second, total, "1,000 devices at 200 a second")
	sizes := []int{}
	for _, p := range h.p.pages {
		sizes = append(sizes, len(p.DeviceIDs))
	}
	sort.Ints(sizes)
	require.Equal(t, []int{200, 200, 200, 200, 200}, sizes)
	require.True(t, slices.Equal(h.stored(c.ID).PushIDs, []string{"P000", "P001", "P002", "P003", "P004"}))
}

// FuzzDecodeJob: no message makes the job decoder panic, and a job it
// accepts names a campaign.
func FuzzDecodeJob(f *testing.F) {
	f.Add([]byte(`{"campaign_id":"06H55XCYXX1T09E4H5KB73VTBC"}`))
	f.Add([]byte(`{"campaign_id":""}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := decodeJob(b)
		if err == nil && (j.CampaignID == "" || len(j.CampaignID) > ids.MaxLen) {
			t.Fatalf("accepted %q", b)
		}
	})
}

// A campaign to every device of the app reaches each of them once,
// tagged or not, and no other app's.
func TestCampaignToEveryDevice(t *testing.T) {
	h := newHarness(t, Config{PageSize: 100})
	mine := append(h.devices(150, "fans", ""), h.devices(60, "others", "")...)
	for range 30 {
		d := &store.Device{ID: ids.New(), AppID: "a2", Secret: []byte("s"), CreatedAt: time.Now()}
		require.NoError(t, h.st.PutDevice(t.Context(), d))
	}
	untagged := &store.Device{ID: ids.New(), AppID: "a1", Secret: []byte("s"), CreatedAt: time.Now()}
	require.NoError(t, h.st.PutDevice(t.Context(), untagged))
	mine = append(mine, untagged.ID)
	c := h.campaign(func(c *store.Campaign) { c.Audience = store.Audience{Broadcast: true} })
	_, err := h.r.Step(t.Context(), c.ID)
	require.NoError(t, err)
	got := h.stored(c.ID)
	require.Equal(t, store.CampaignDone, got.State)
	require.EqualValues(t, len(mine), got.Sent)
	reached := h.p.reached()
	require.Len(t, reached, len(mine), "no other app's device")
	for _, id := range mine {
		require.Equal(t, 1, reached[id], id)
	}
}
