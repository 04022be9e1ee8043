package connector

import (
	"context"
	"errors"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/sdkproto/pb"
)

// engagementStore counts opens and clicks and reads the push they name.
type engagementStore interface {
	store.Engagements
	Push(ctx context.Context, id string) (*store.Push, error)
}

// maxPushApps bounds the push ids whose app a connector keeps.
const maxPushApps = 16384

// engage counts an open or a click that a device reported: once per
// device, kind and push, and only for a push of the device's own app, so
// that a device cannot move another app's numbers. Reports are never
// answered (protocol.md 9.7); each outcome is counted in
// push_connector_engagements_total.
func (c *Connector) engage(ctx context.Context, s *session, r *pb.Report) {
	kind := store.EngagementOpen
	if r.Kind == ReportClick {
		kind = store.EngagementClick
	}
	result := c.countEngagement(ctx, s, r.PushId, kind)
	c.m.engagements.WithLabelValues(kind, result).Inc()
}

func (c *Connector) countEngagement(ctx context.Context, s *session, pushID, kind string) string {
	es, ok := c.store.(engagementStore)
	if !ok {
		return "unsupported"
	}
	if pushID == "" || len(pushID) > ids.MaxLen {
		return "invalid"
	}
	app, ok := c.pushApps.Get(pushID)
	if !ok {
		p, err := es.Push(ctx, pushID)
		if errors.Is(err, store.ErrNotFound) {
			return "unknown_push"
		}
		if err != nil {
			c.log.WarnContext(ctx, "read pushed app failed", "push_id", pushID, "error", err)
			return "error"
		}
		app = p.AppID
		c.pushApps.Put(pushID, app)
	}
	if app != s.appID {
		return "foreign_push"
	}
	counted, err := es.CountEngagement(ctx, pushID, s.deviceID, kind)
	switch {
	case errors.Is(err, store.ErrUnsupported):
		return "unsupported"
	case err != nil:
		c.log.WarnContext(ctx, "count engagement failed", "push_id", pushID, "kind", kind, "error", err)
		return "error"
	case !counted:
		return "repeated"
	}
	return "counted"
}
