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
// call, changed devices written to L2 (in bulk where each is still the
// version read, then one by one), then to L1 in one pipeline per shard,
// then to L0. It holds the devices' stripes throughout, so a PutDevice on
// this node is not lost between the read and the write; a write on
// another node (an update, a dead-token removal, a deletion) is not lost
// either, because L2 writes only the version read and a device changed
// meanwhile gets the report applied to its new version.
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
	var olds, news []*store.Device
	var changes []Fields
	unknown := 0
	for i, d := range cur {
		if d == nil {
			unknown++
			continue
		}
		n := d.Clone()
		if fields[i].Apply(n) {
			olds, news, changes = append(olds, d), append(news, n), append(changes, fields[i])
		}
	}
	written, gone, err := t.writeL2(ctx, olds, news, changes)
	unknown += gone
	t.metrics.report("unknown", unknown)
	t.metrics.report("unchanged", len(ids)-unknown-len(news)+gone)
	t.metrics.report("applied", len(written))
	t.publish(ctx, written)
	if err != nil {
		t.metrics.report("failed", len(news)-gone-len(written))
		return fmt.Errorf("tiered: reports: write l2: %w", err)
	}
	return nil
}

// writeL2 writes the changed devices news, read as olds, to L2: in bulk
// where each is still the version read, when L2 can; the others (all of
// them without bulk) by applying their changes again with UpdateDevice,
// WriteConcurrency at a time. It returns the devices as written and how
// many were deleted meanwhile. A failed bulk write may have written some:
// their L1 and L0 entries are dropped, so that no tier keeps a value older
// than L2's.
func (t *Tiered) writeL2(ctx context.Context, olds, news []*store.Device, changes []Fields) (written []*store.Device, gone int, err error) {
	if len(news) == 0 {
		return nil, 0, nil
	}
	again := make([]int, 0, len(news))
	if bu, ok := t.l2.(BulkUpdater); ok {
		stale, err := bu.ReplaceDevices(ctx, olds, news)
		if err != nil {
			t.forget(context.WithoutCancel(ctx), news)
			return nil, 0, err
		}
		isStale := make(map[int]bool, len(stale))
		for _, i := range stale {
			isStale[i] = true
		}
		for i, d := range news {
			if isStale[i] {
				again = append(again, i)
			} else {
				written = append(written, d)
			}
		}
	} else {
		for i := range news {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return written, 0, nil
	}
	devs := make([]*store.Device, len(again))
	errs := make([]error, len(again))
	sem := make(chan struct{}, t.cfg.WriteConcurrency)
	var wg sync.WaitGroup
	for k, i := range again {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			devs[k], errs[k] = t.l2.UpdateDevice(ctx, news[i].ID, changes[i].Apply)
		})
	}
	wg.Wait()
	for k := range again {
		switch {
		case errors.Is(errs[k], store.ErrNotFound):
			gone++
			errs[k] = nil
		case errs[k] == nil:
			written = append(written, devs[k])
		}
	}
	return written, gone, errors.Join(errs...)
}
