package connector

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mopush/mopush/internal/store"
	"github.com/mopush/mopush/internal/store/tiered"
	"github.com/mopush/mopush/sdkproto/pb"
)

// Reporter takes device reports in batches (the tiered device layer).
type Reporter interface {
	Report(ctx context.Context, deviceID string, f tiered.Fields) error
}

// Report kinds a device sends.
const (
	ReportDeviceInfo = "device_info" // fields: locale, time_zone, token.<vendor>
	ReportOpen       = "open"
	ReportClick      = "click"
)

// Limits on a device_info report.
const (
	maxReportFields = 32
	maxReportValue  = 4096
)

// report applies a device_info report: locale, time zone, vendor tokens and
// last-seen time. Through a Reporter it is batched with other devices'
// reports; otherwise it is a read-modify-write of the device. Opens and
// clicks count in the push's counts (engage).
func (c *Connector) report(ctx context.Context, s *session, r *pb.Report) {
	if r.Kind == ReportOpen || r.Kind == ReportClick {
		c.engage(ctx, s, r)
		return
	}
	if r.Kind != ReportDeviceInfo || len(r.Fields) > maxReportFields {
		return
	}
	f := tiered.Fields{LastSeen: time.Now().UTC()}
	for k, v := range r.Fields {
		if len(v) > maxReportValue {
			return
		}
		switch {
		case k == "locale":
			f.Locale = v
		case k == "time_zone":
			f.TimeZone = v
		case strings.HasPrefix(k, "token."):
			if f.Tokens == nil {
				f.Tokens = map[string]string{}
			}
			f.Tokens[strings.TrimPrefix(k, "token.")] = v
		}
	}
	if rep, ok := c.store.(Reporter); ok {
		if err := rep.Report(ctx, s.deviceID, f); err != nil {
			c.log.WarnContext(ctx, "device report failed", "device_id", s.deviceID, "error", err)
		}
		return
	}
	c.applyReport(ctx, s.deviceID, f)
}

// deviceUpdater is a store that can change a device record in place.
type deviceUpdater interface {
	UpdateDevice(ctx context.Context, id string, change func(*store.Device) bool) (*store.Device, error)
}

// applyReport writes a report's fields into the device as stored: the
// store applies them when it writes, so an update or a token removal that
// lands meanwhile is kept, and a deleted device stays deleted.
func (c *Connector) applyReport(ctx context.Context, id string, f tiered.Fields) {
	u, ok := c.store.(deviceUpdater)
	if !ok {
		return
	}
	_, err := u.UpdateDevice(ctx, id, f.Apply)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.WarnContext(ctx, "device report failed", "device_id", id, "error", err)
	}
}
