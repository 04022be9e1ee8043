package store

import (
	"context"
	"fmt"
)

// RepeatWindow is how many of a device's newest messages FindAppended
// looks through: a repeated append follows the first within seconds (a
// route retry, a push resumed after a crash), so its copy is among them.
const RepeatWindow = 64

// StreamReader reads device streams.
type StreamReader interface {
	ReadStream(ctx context.Context, deviceID string, epoch, since uint64, limit int) (Page, error)
}

// FindAppended looks for each entry's message, by push id, among the
// newest RepeatWindow messages of its device's stream, and returns where it
// found each (found[i] false: not there). Callers that may be appending a
// message a second time (a retry after an unknown outcome) append only
// the entries not found, so that a device's stream holds a push once and
// its acknowledgement counts once. It reads; a copy appended concurrently,
// after its read, is not seen.
func FindAppended(ctx context.Context, r StreamReader, entries []Entry) (pos []Position, found []bool, err error) {
	pos = make([]Position, len(entries))
	found = make([]bool, len(entries))
	for i, e := range entries {
		head, err := r.ReadStream(ctx, e.DeviceID, 0, 0, 0) // the head only
		if err != nil {
			return nil, nil, fmt.Errorf("find appended: %w", err)
		}
		if head.Head == 0 {
			continue
		}
		since := head.Head - min(head.Head, RepeatWindow)
		page, err := r.ReadStream(ctx, e.DeviceID, head.Epoch, since, RepeatWindow)
		if err != nil {
			return nil, nil, fmt.Errorf("find appended: %w", err)
		}
		for _, m := range page.Messages {
			if m.PushID == e.Message.PushID {
				pos[i], found[i] = Position{Epoch: page.Epoch, Seq: m.Seq}, true
				break
			}
		}
	}
	return pos, found, nil
}
