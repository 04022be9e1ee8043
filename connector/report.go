package connector

import (
	"context"
	"maps"
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
// clicks are counted only (their statistics come with the collector).
func (c *Connector) report(ctx context.Context, s *session, r *pb.Report) {
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

// deviceWriter is a store that can replace a device record.
type deviceWriter interface {
	PutDevice(ctx context.Context, d *store.Device) error
}

func (c *Connector) applyReport(ctx context.Context, id string, f tiered.Fields) {
	w, ok := c.store.(deviceWriter)
	if !ok {
		return
	}
	devs, err := c.store.Devices(ctx, []string{id})
	if err != nil || devs[0] == nil {
		return
	}
	d := *devs[0]
	d.Tokens = maps.Clone(d.Tokens)
	if f.Apply(&d) {
		if err := w.PutDevice(ctx, &d); err != nil {
			c.log.WarnContext(ctx, "device report failed", "device_id", id, "error", err)
		}
	}
}
