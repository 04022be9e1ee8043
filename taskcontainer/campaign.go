package taskcontainer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // device time zones on machines without a zone database

	"github.com/mopush/mopush/internal/store"
)

// Step moves the campaign as far as it goes now. It returns how long to
// wait before the next step when its start is still ahead, and 0 when this
// job is done with it: sent, paused, cancelled or unknown.
func (r *Runner) Step(ctx context.Context, id string) (time.Duration, error) {
	for {
		c, err := r.store.Campaign(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read campaign: %w", err)
		}
		switch c.State {
		case store.CampaignScheduled:
			if d := firstInstant(c).Sub(r.now()); d > 0 {
				return min(d, maxWait), nil
			}
			c.State, c.UpdatedAt = store.CampaignRunning, r.now().UTC()
			err := r.store.UpdateCampaign(ctx, c)
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return 0, fmt.Errorf("start campaign: %w", err)
			}
			if err == nil {
				r.log.InfoContext(ctx, "campaign started", "campaign_id", c.ID)
			}
		case store.CampaignRunning:
			return 0, r.send(ctx, c)
		default:
			return 0, nil
		}
	}
}

// UTC+14 is the earliest time zone in use: a local-time campaign starts
// when its wall-clock time comes there.
const earliestOffset = 14 * time.Hour

// firstInstant is when a campaign's first message is due.
func firstInstant(c *store.Campaign) time.Time {
	if c.LocalTime {
		return c.SendAt.Add(-earliestOffset)
	}
	return c.SendAt
}

// send sends the running campaign's pages from its cursor, checkpointing
// after each, until the audience ends or the campaign stops running.
func (r *Runner) send(ctx context.Context, c *store.Campaign) error {
	size := r.cfg.PageSize
	if c.RatePerSecond > 0 {
		size = min(size, c.RatePerSecond)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ids, err := r.audience(ctx, c, size)
		if err != nil {
			return fmt.Errorf("list campaign audience: %w", err)
		}
		if len(ids) == 0 {
			_, err := r.checkpoint(ctx, c, progress{done: true})
			return err
		}
		started := r.now()
		pushes, sent, err := r.sendPage(ctx, c, ids)
		if err != nil {
			return err
		}
		going, err := r.checkpoint(ctx, c, progress{cursor: ids[len(ids)-1], sent: sent, pushes: pushes})
		if err != nil || !going {
			return err
		}
		r.m.pages.Inc()
		r.m.sent.Add(float64(sent))
		if c.RatePerSecond > 0 {
			due := started.Add(time.Duration(len(ids)) * time.Second / time.Duration(c.RatePerSecond))
			if d := due.Sub(r.now()); d > 0 && !r.sleep(ctx, d) {
				return ctx.Err()
			}
		}
	}
}

// audience lists the next page of the campaign's devices: every device of
// the app (Audience.Broadcast), or those with one of its tags.
func (r *Runner) audience(ctx context.Context, c *store.Campaign, size int) ([]string, error) {
	if c.Audience.Broadcast {
		return r.store.DeviceIDsByApp(ctx, c.AppID, c.Cursor, size)
	}
	return r.store.DeviceIDsByTags(ctx, c.AppID, c.Audience.Tags, c.Cursor, size)
}

// progress is what one page moved a campaign by.
type progress struct {
	cursor string
	sent   int64
	pushes []string
	done   bool
}

// checkpoint stores a page's progress with a compare-and-set. When the
// campaign changed since it was read, the progress goes into the stored
// one, unless another runner recorded this page already; a campaign that
// was paused or cancelled meanwhile keeps that state, and for a
// cancelled one the page's scheduled pushes are cancelled too. It reports
// whether the campaign is still running.
func (r *Runner) checkpoint(ctx context.Context, c *store.Campaign, p progress) (bool, error) {
	for {
		next := *c
		if p.cursor != "" && next.Cursor < p.cursor {
			next.Cursor = p.cursor
			next.Sent += p.sent
			next.PushIDs = append(slices.Clip(next.PushIDs), p.pushes...)
		}
		if p.done && next.State == store.CampaignRunning {
			next.State = store.CampaignDone
		}
		next.UpdatedAt = r.now().UTC()
		err := r.store.UpdateCampaign(ctx, &next)
		if err == nil {
			*c = next
			if c.State == store.CampaignDone && p.done {
				r.log.InfoContext(ctx, "campaign done", "campaign_id", c.ID, "sent", c.Sent)
			}
			return c.State == store.CampaignRunning, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return false, fmt.Errorf("checkpoint campaign: %w", err)
		}
		fresh, err := r.store.Campaign(ctx, c.ID)
		if err != nil {
			return false, fmt.Errorf("read campaign: %w", err)
		}
		*c = *fresh
		if c.State == store.CampaignCancelled {
			r.cancelPushes(ctx, c.AppID, p.pushes)
		}
	}
}

// cancelPushes cancels pushes of a cancelled campaign that may still be
// scheduled; those already sent are left alone.
func (r *Runner) cancelPushes(ctx context.Context, appID string, ids []string) {
	for _, id := range ids {
		if err := r.pusher.Cancel(ctx, appID, id); err != nil {
			r.log.WarnContext(ctx, "cancel campaign push failed", "push_id", id, "error", err)
		}
	}
}

// maxUnknownRetries bounds how often a page is sent again without devices
// deleted since they were listed.
const maxUnknownRetries = 3

// sendPage sends a page of devices: one push, or with local time one per
// distinct instant. It returns the pushes and the devices they went to.
func (r *Runner) sendPage(ctx context.Context, c *store.Campaign, ids []string) ([]string, int64, error) {
	groups, err := r.groups(ctx, c, ids)
	if err != nil {
		return nil, 0, err
	}
	var pushes []string
	var sent int64
	now := r.now()
	for _, g := range groups {
		page := Page{DeviceIDs: g.ids, Notification: c.Notification}
		if g.at.After(now) {
			page.SendAt = g.at
		}
		for try := 0; len(page.DeviceIDs) > 0; try++ {
			id, err := r.pusher.Push(ctx, c.AppID, page, pageKey(c.ID, g.at, page.DeviceIDs))
			var unknown *UnknownDevices
			if errors.As(err, &unknown) && try < maxUnknownRetries {
				page.DeviceIDs = slices.DeleteFunc(slices.Clone(page.DeviceIDs), func(d string) bool {
					return slices.Contains(unknown.IDs, d)
				})
				continue
			}
			if err != nil {
				return nil, 0, fmt.Errorf("send campaign page: %w", err)
			}
			pushes = append(pushes, id)
			sent += int64(len(page.DeviceIDs))
			break
		}
	}
	return pushes, sent, nil
}

// pageKey is the idempotency key of a page's push: the same campaign,
// instant and devices give the same key, so a page sent again after a
// crash is the push sent before.
func pageKey(campaign string, at time.Time, ids []string) string {
	sum := sha256.Sum256([]byte(strings.Join(ids, ",")))
	return fmt.Sprintf("campaign-%s-%d-%s", campaign, at.Unix(), hex.EncodeToString(sum[:12]))
}

// group is the devices of a page due at one instant.
type group struct {
	at  time.Time
	ids []string
}

// groups splits a page by the instant each device is due: one group at
// the send time, or with local time the send time's wall clock in each
// device's zone, earliest first.
func (r *Runner) groups(ctx context.Context, c *store.Campaign, ids []string) ([]group, error) {
	if !c.LocalTime {
		return []group{{at: c.SendAt, ids: ids}}, nil
	}
	devs, err := r.store.Devices(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read campaign devices: %w", err)
	}
	by := map[time.Time][]string{}
	for i, id := range ids {
		zone := ""
		if i < len(devs) && devs[i] != nil {
			zone = devs[i].TimeZone
		}
		at := r.zones.localInstant(c.SendAt, zone)
		by[at] = append(by[at], id)
	}
	out := make([]group, 0, len(by))
	for at, g := range by {
		out = append(out, group{at: at, ids: g})
	}
	slices.SortFunc(out, func(a, b group) int { return a.at.Compare(b.at) })
	return out, nil
}

// zones caches the time zones loaded by name (only known names, so at
// most the zone database's few hundred).
type zones struct{ m sync.Map }

// localInstant is the instant at which wall's date and clock (read in UTC)
// come in the zone named; UTC for an empty or unknown name.
func (z *zones) localInstant(wall time.Time, zone string) time.Time {
	loc := time.UTC
	if zone != "" {
		if l, ok := z.m.Load(zone); ok {
			loc = l.(*time.Location)
		} else if l, err := time.LoadLocation(zone); err == nil {
			z.m.Store(zone, l)
			loc = l
		}
	}
	w := wall.UTC()
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc).UTC()
}
