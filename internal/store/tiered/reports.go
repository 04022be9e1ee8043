package tiered

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mopush/mopush/internal/store"
)

// Fields are what a device report may change. Zero fields leave the
// device's value as it is.
type Fields struct {
	// LastSeen moves the device's last-seen time forward; an older time
	// does nothing.
	LastSeen time.Time
	// Locale replaces the device's locale when not empty.
	Locale string
	// TimeZone replaces the device's time zone when not empty.
	TimeZone string
	// Tokens sets vendor push tokens, vendor name to token; an empty token
	// removes the vendor's token.
	Tokens map[string]string
}

// Apply changes d as the fields say and reports whether anything changed.
func (f Fields) Apply(d *store.Device) bool {
	changed := false
	if f.LastSeen.After(d.LastSeen) {
		d.LastSeen, changed = f.LastSeen, true
	}
	if f.Locale != "" && f.Locale != d.Locale {
		d.Locale, changed = f.Locale, true
	}
	if f.TimeZone != "" && f.TimeZone != d.TimeZone {
		d.TimeZone, changed = f.TimeZone, true
	}
	for vendor, tok := range f.Tokens {
		old, had := d.Tokens[vendor]
		switch {
		case tok == "" && had:
			delete(d.Tokens, vendor)
			changed = true
		case tok != "" && old != tok:
			if d.Tokens == nil {
				d.Tokens = make(map[string]string)
			}
			d.Tokens[vendor] = tok
			changed = true
		}
	}
	if len(d.Tokens) == 0 {
		d.Tokens = nil
	}
	return changed
}

// then returns f followed by a later report g, as one report.
func (f Fields) then(g Fields) Fields {
	if g.LastSeen.After(f.LastSeen) {
		f.LastSeen = g.LastSeen
	}
	if g.Locale != "" {
		f.Locale = g.Locale
	}
	if g.TimeZone != "" {
		f.TimeZone = g.TimeZone
	}
	if len(g.Tokens) > 0 {
		merged := make(map[string]string, len(f.Tokens)+len(g.Tokens))
		for k, v := range f.Tokens {
			merged[k] = v
		}
		for k, v := range g.Tokens {
			merged[k] = v
		}
		f.Tokens = merged
	}
	return f
}

// report is one queued device report.
type report struct {
	id     string
	fields Fields
}

// Report queues a device report and returns once it is queued. When the
// queue is full it blocks until there is room or ctx ends (backpressure),
// and returns ctx.Err() then; it returns batch.ErrClosed once Run has
// ended. A queued report is written within the writer's MaxDelay, together
// with the others: reports of one device are merged, L2 is read and
// written in bulk, L1 in one pipeline per shard. Reports of devices that L2
// does not know are dropped and counted.
func (t *Tiered) Report(ctx context.Context, deviceID string, f Fields) error {
	if deviceID == "" {
		return errors.New("tiered: report: empty device id")
	}
	return t.reports.Add(ctx, report{id: deviceID, fields: f})
}

// ReportWait queues a report like Report and waits until the batch that
// holds it was written, returning the batch's error.
func (t *Tiered) ReportWait(ctx context.Context, deviceID string, f Fields) error {
	if deviceID == "" {
		return errors.New("tiered: report: empty device id")
	}
	return t.reports.AddWait(ctx, report{id: deviceID, fields: f})
}

// flush writes one batch of reports: merged per device, read from L2 in one
// call, changed devices written to L2 (in bulk, or WriteConcurrency at a
// time), then to L1 in one pipeline per shard, then to L0. It holds the
// devices' stripes throughout, so a PutDevice on this node is not lost
// between the read and the write.
func (t *Tiered) flush(ctx context.Context, items []report) error {
	index := make(map[string]int, len(items))
	var ids []string
	var fields []Fields
	for _, it := range items {
		if i, ok := index[it.id]; ok {
			fields[i] = fields[i].then(it.fields)
			continue
		}
		index[it.id] = len(ids)
		ids = append(ids, it.id)
		fields = append(fields, it.fields)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = t.DeviceKey(id)
	}
	unlock := t.locks.lock(keys...)
	defer unlock()
	cur, err := t.l2.Devices(ctx, ids)
	if err != nil {
		t.metrics.report("failed", len(ids))
		return fmt.Errorf("tiered: reports: read l2: %w", err)
	}
	var changed []*store.Device
	unknown := 0
	for i, d := range cur {
		switch {
		case d == nil:
			unknown++
		case fields[i].Apply(d):
			changed = append(changed, d)
		}
	}
	t.metrics.report("unknown", unknown)
	t.metrics.report("unchanged", len(ids)-unknown-len(changed))
	written, err := t.writeL2(ctx, changed)
	t.metrics.report("applied", len(written))
	t.publish(ctx, written)
	if err != nil {
		t.metrics.report("failed", len(changed)-len(written))
		return fmt.Errorf("tiered: reports: write l2: %w", err)
	}
	return nil
}

// writeL2 writes devices to L2 in bulk when it can, else with up to
// WriteConcurrency PutDevice calls at once, and returns those it wrote. A
// failed bulk write may have written some: their L1 and L0 entries are
// dropped, so that no tier keeps a value older than L2's.
func (t *Tiered) writeL2(ctx context.Context, devs []*store.Device) ([]*store.Device, error) {
	if len(devs) == 0 {
		return nil, nil
	}
	if bw, ok := t.l2.(BulkWriter); ok {
		if err := bw.PutDevices(ctx, devs); err != nil {
			t.forget(context.WithoutCancel(ctx), devs)
			return nil, err
		}
		return devs, nil
	}
	errs := make([]error, len(devs))
	sem := make(chan struct{}, t.cfg.WriteConcurrency)
	var wg sync.WaitGroup
	for i, d := range devs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = t.l2.PutDevice(ctx, d)
		})
	}
	wg.Wait()
	written := make([]*store.Device, 0, len(devs))
	for i, d := range devs {
		if errs[i] == nil {
			written = append(written, d)
		}
	}
	return written, errors.Join(errs...)
}
