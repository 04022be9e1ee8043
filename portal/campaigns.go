package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// Campaigns is the part of the data layer the portal's campaigns use.
type Campaigns interface {
	CreateCampaign(ctx context.Context, c *store.Campaign) error
	Campaign(ctx context.Context, id string) (*store.Campaign, error)
	CampaignsByApp(ctx context.Context, appID, after string, limit int) ([]*store.Campaign, error)
	UpdateCampaign(ctx context.Context, c *store.Campaign) error
	Push(ctx context.Context, id string) (*store.Push, error)
}

// Starter hands a campaign to the campaign runners (taskcontainer.Publisher).
type Starter interface {
	Start(ctx context.Context, campaignID string) error
}

// Option configures a portal.
type Option func(*Portal)

// WithCampaigns serves campaigns, kept in st and run by whoever takes the
// jobs start publishes.
func WithCampaigns(st Campaigns, start Starter) Option {
	return func(p *Portal) { p.campaigns, p.starter = st, start }
}

// Bounds of a campaign, as those of a push to tags (docs/api.md).
const (
	maxCampaignName   = 128
	maxCampaignTags   = 10
	maxTagBytes       = 64
	maxNotification   = 4096
	maxCampaignRate   = 100000
	maxCampaignAhead  = 30 * 24 * time.Hour
	maxCountedPushes  = 1000
	defaultCampaigns  = 20
	maxListCampaigns  = 100
	campaignJobRetry  = "1"
	campaignStateSlug = "campaign-state"
)

type campaignRequest struct {
	Name          string             `json:"name"`
	Notification  store.Notification `json:"notification"`
	Tags          []string           `json:"tags"`
	AllDevices    bool               `json:"all_devices"`
	SendAt        string             `json:"send_at"`
	LocalTime     bool               `json:"local_time"`
	RatePerSecond int                `json:"rate_per_second"`
}

// campaignView is a campaign as the API shows it.
type campaignView struct {
	ID            string             `json:"id"`
	Name          string             `json:"name"`
	State         string             `json:"state"`
	Notification  store.Notification `json:"notification"`
	Tags          []string           `json:"tags"`
	AllDevices    bool               `json:"all_devices"`
	SendAt        time.Time          `json:"send_at,omitzero"`
	LocalTime     bool               `json:"local_time"`
	RatePerSecond int                `json:"rate_per_second,omitempty"`
	Sent          int64              `json:"sent"`
	Pushes        int                `json:"pushes"`
	CreatedAt     time.Time          `json:"created_at"`
	UpdatedAt     time.Time          `json:"updated_at"`
	// Counts are the campaign's pushes' counts summed (one campaign only).
	Counts *store.Counts `json:"counts,omitempty"`
	// CountsPartial says the counts cover only the first pushes.
	CountsPartial bool `json:"counts_partial,omitempty"`
}

func viewCampaign(c *store.Campaign) campaignView {
	return campaignView{ID: c.ID, Name: c.Name, State: c.State, Notification: c.Notification,
		Tags: c.Audience.Tags, AllDevices: c.Audience.Broadcast,
		SendAt: c.SendAt, LocalTime: c.LocalTime, RatePerSecond: c.RatePerSecond, Sent: c.Sent,
		Pushes: len(c.PushIDs), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func errInvalidCampaign(detail string) *httpx.Error {
	return httpx.Errorf(http.StatusUnprocessableEntity, "invalid-campaign", "Invalid campaign", detail)
}

func errCampaignsOff() *httpx.Error {
	return httpx.Errorf(http.StatusNotImplemented, "campaigns-unsupported", "Campaigns unsupported",
		"this node runs no campaigns")
}

// validate checks a new campaign and returns its send time (zero: now);
// with local time the time's date and clock as written, in UTC.
func (req *campaignRequest) validate(now time.Time) (time.Time, error) {
	if req.Name == "" || len(req.Name) > maxCampaignName {
		return time.Time{}, errInvalidCampaign(fmt.Sprintf("name is 1 to %d bytes", maxCampaignName))
	}
	if req.Notification.Title == "" && req.Notification.Body == "" && len(req.Notification.Data) == 0 {
		return time.Time{}, errInvalidCampaign("the notification needs a title, a body or data")
	}
	if b, _ := json.Marshal(req.Notification); len(b) > maxNotification {
		return time.Time{}, errInvalidCampaign(fmt.Sprintf("the notification is at most %d bytes of JSON", maxNotification))
	}
	if req.AllDevices == (len(req.Tags) > 0) {
		return time.Time{}, errInvalidCampaign("either all_devices or tags")
	}
	if len(req.Tags) > maxCampaignTags {
		return time.Time{}, errInvalidCampaign(fmt.Sprintf("1 to %d tags", maxCampaignTags))
	}
	for _, t := range req.Tags {
		if t == "" || len(t) > maxTagBytes {
			return time.Time{}, errInvalidCampaign(fmt.Sprintf("a tag is 1 to %d bytes", maxTagBytes))
		}
	}
	if req.RatePerSecond < 0 || req.RatePerSecond > maxCampaignRate {
		return time.Time{}, errInvalidCampaign(fmt.Sprintf("rate_per_second is 1 to %d, or 0 for no bound", maxCampaignRate))
	}
	if req.LocalTime && req.RatePerSecond > 0 {
		return time.Time{}, errInvalidCampaign("a campaign in local time sends each zone at its time: it takes no rate")
	}
	if req.SendAt == "" {
		if req.LocalTime {
			return time.Time{}, errInvalidCampaign("local_time needs send_at")
		}
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339, req.SendAt)
	if err != nil {
		return time.Time{}, errInvalidCampaign("send_at is an RFC 3339 time, e.g. 2026-12-24T09:00:00Z")
	}
	if req.LocalTime {
		at = time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), at.Minute(), at.Second(), 0, time.UTC)
	}
	if at.Sub(now) > maxCampaignAhead {
		return time.Time{}, errInvalidCampaign("send_at is at most 30 days ahead")
	}
	return at.UTC(), nil
}

// campaignFor checks the user's access to the app and returns the campaign
// of the path, which must be the app's.
func (p *Portal) campaignFor(r *http.Request, a access) (*store.User, *store.Campaign, error) {
	u, err := p.appAccess(r, a)
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("id")
	if len(id) > ids.MaxLen {
		return nil, nil, errNotFound("campaign")
	}
	c, err := p.campaigns.Campaign(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.AppID != r.PathValue("app")) {
		return nil, nil, errNotFound("campaign")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read campaign: %w", err)
	}
	return u, c, nil
}

// appAccess checks that campaigns are served and the signed-in user may
// act on the app of the path.
func (p *Portal) appAccess(r *http.Request, a access) (*store.User, error) {
	if p.campaigns == nil {
		return nil, errCampaignsOff()
	}
	return p.userFor(r, a)
}

func (p *Portal) createCampaign(w http.ResponseWriter, r *http.Request) error {
	u, err := p.appAccess(r, roleWrite)
	if err != nil {
		return err
	}
	var req campaignRequest
	if err := httpx.DecodeJSON(r, maxBody, &req); err != nil {
		return err
	}
	now := p.now().UTC()
	at, err := req.validate(now)
	if err != nil {
		return err
	}
	// The app must exist: the gateway is asked, as for pushes.
	if err := p.gw.call(r.Context(), http.MethodGet, "/v1/apps/"+url.PathEscape(r.PathValue("app")), "", nil, nil); err != nil {
		return err
	}
	c := &store.Campaign{ID: ids.New(), AppID: r.PathValue("app"), Name: req.Name, State: store.CampaignScheduled,
		Notification: req.Notification, Audience: store.Audience{Tags: req.Tags, Broadcast: req.AllDevices}, SendAt: at,
		LocalTime: req.LocalTime, RatePerSecond: req.RatePerSecond, CreatedAt: now, UpdatedAt: now}
	if err := p.campaigns.CreateCampaign(r.Context(), c); err != nil {
		return fmt.Errorf("create campaign: %w", err)
	}
	p.log.Info("campaign created", "campaign_id", c.ID, "user_id", u.ID)
	if err := p.starter.Start(r.Context(), c.ID); err != nil {
		p.log.Warn("campaign job not queued; left as a draft", "campaign_id", c.ID, "error", err)
		p.setCampaignState(r.Context(), c, store.CampaignDraft) //nolint:errcheck // the answer says what to do
		return errQueueDown()
	}
	return httpx.WriteJSON(w, http.StatusCreated, viewCampaign(c))
}

func errQueueDown() *httpx.Error {
	e := httpx.Errorf(http.StatusServiceUnavailable, "campaign-queue-unavailable", "Campaign queue unavailable",
		"the campaign is kept as a draft; resume it when the queue is back")
	e.Header = http.Header{"Retry-After": {campaignJobRetry}}
	return e
}

// setCampaignState moves c to state (compare-and-set, reading again on a
// conflict) when moves allows the state it finds; it returns false when
// it does not.
func (p *Portal) setCampaignState(ctx context.Context, c *store.Campaign, state string, from ...string) (bool, error) {
	for {
		if len(from) > 0 && !slices.Contains(from, c.State) {
			return false, nil
		}
		next := *c
		next.State, next.UpdatedAt = state, p.now().UTC()
		err := p.campaigns.UpdateCampaign(ctx, &next)
		if err == nil {
			*c = next
			return true, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return false, fmt.Errorf("update campaign: %w", err)
		}
		fresh, err := p.campaigns.Campaign(ctx, c.ID)
		if err != nil {
			return false, fmt.Errorf("read campaign: %w", err)
		}
		*c = *fresh
	}
}

func errCampaignState(c *store.Campaign, want string) *httpx.Error {
	e := httpx.Errorf(http.StatusConflict, campaignStateSlug, "Campaign state",
		fmt.Sprintf("a %s campaign cannot be %s", c.State, want))
	e.Extra = map[string]any{"state": c.State}
	return e
}

// changeCampaign serves pause, resume and cancel.
func (p *Portal) changeCampaign(w http.ResponseWriter, r *http.Request) error {
	_, c, err := p.campaignFor(r, roleWrite)
	if err != nil {
		return err
	}
	ctx := r.Context()
	switch action := r.PathValue("action"); action {
	case "pause":
		ok, err := p.setCampaignState(ctx, c, store.CampaignPaused, store.CampaignScheduled, store.CampaignRunning)
		if err != nil || !ok {
			return cmp(err, errCampaignState(c, "paused"))
		}
	case "resume":
		ok, err := p.setCampaignState(ctx, c, store.CampaignScheduled, store.CampaignPaused, store.CampaignDraft)
		if err != nil || !ok {
			return cmp(err, errCampaignState(c, "resumed"))
		}
		if err := p.starter.Start(ctx, c.ID); err != nil {
			p.log.Warn("campaign job not queued; left as a draft", "campaign_id", c.ID, "error", err)
			p.setCampaignState(ctx, c, store.CampaignDraft) //nolint:errcheck // the answer says what to do
			return errQueueDown()
		}
	case "cancel":
		// A done campaign in local time may still have pushes ahead.
		ok, err := p.setCampaignState(ctx, c, store.CampaignCancelled, store.CampaignDraft,
			store.CampaignScheduled, store.CampaignRunning, store.CampaignPaused, store.CampaignDone)
		if err != nil || !ok {
			return cmp(err, errCampaignState(c, "cancelled"))
		}
		// Pushes sent ahead for later local times are still scheduled.
		for _, id := range c.PushIDs {
			err := p.gw.call(ctx, http.MethodDelete, "/v1/pushes/"+url.PathEscape(id), c.AppID, nil, nil)
			var he *httpx.Error
			if err != nil && !(errors.As(err, &he) && (he.Status == http.StatusConflict || he.Status == http.StatusNotFound)) {
				return err
			}
		}
	default:
		return errNotFound("endpoint " + r.URL.Path)
	}
	return httpx.WriteJSON(w, http.StatusOK, viewCampaign(c))
}

// cmp returns err when there is one, else refused.
func cmp(err error, refused *httpx.Error) error {
	if err != nil {
		return err
	}
	return refused
}

func (p *Portal) getCampaign(w http.ResponseWriter, r *http.Request) error {
	_, c, err := p.campaignFor(r, roleRead)
	if err != nil {
		return err
	}
	v := viewCampaign(c)
	var sum store.Counts
	for i, id := range c.PushIDs {
		if i == maxCountedPushes {
			v.CountsPartial = true
			break
		}
		push, err := p.campaigns.Push(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			continue // expired and gone
		}
		if err != nil {
			return fmt.Errorf("read campaign push: %w", err)
		}
		sum = sum.Add(push.Counts)
	}
	v.Counts = &sum
	return httpx.WriteJSON(w, http.StatusOK, v)
}

type campaignList struct {
	Campaigns []campaignView `json:"campaigns"`
	Next      string         `json:"next,omitempty"`
}

func (p *Portal) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	if _, err := p.appAccess(r, roleRead); err != nil {
		return err
	}
	after, limit, err := httpx.PageQuery(r, defaultCampaigns, maxListCampaigns, ids.MaxLen)
	if err != nil {
		return err
	}
	cs, err := p.campaigns.CampaignsByApp(r.Context(), r.PathValue("app"), after, limit+1)
	if err != nil {
		return fmt.Errorf("list campaigns: %w", err)
	}
	cs, next := httpx.Page(cs, limit, func(c *store.Campaign) string { return c.ID })
	out := campaignList{Campaigns: make([]campaignView, 0, len(cs)), Next: next}
	for _, c := range cs {
		out.Campaigns = append(out.Campaigns, viewCampaign(c))
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}
