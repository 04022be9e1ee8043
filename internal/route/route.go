// Package route carries delivery batches from the gateway (or the
// taskcontainer) to the connector that owns the devices: the batch and
// result types, and their HTTP/2 client and handler for roles that run
// apart. In one process the connector is called directly.
package route

import (
	"context"

	"github.com/mopush/mopush/internal/store"
)

// Status is what a connector did with one device of a batch.
type Status uint8

// Outcomes of one device in a batch.
const (
	// Written: appended to the device's stream and written to its live
	// session (or queued behind an in-progress catch-up of that session).
	Written Status = iota + 1
	// Offline: appended to the stream; the device has no live session here.
	Offline
	// Refused: this connector does not own the device and the batch is
	// no fallback; nothing appended.
	Refused
	// Failed: the append failed; nothing is stored for this device.
	Failed
)

var statusNames = [...]string{Written: "written", Offline: "offline", Refused: "refused", Failed: "failed"}

// String names the status.
func (s Status) String() string {
	if int(s) < len(statusNames) && statusNames[s] != "" {
		return statusNames[s]
	}
	return "unknown"
}

// Result is the outcome for one device, by position in the batch.
type Result struct {
	Status Status
	// Position in the device's stream, when appended.
	Epoch uint64
	Seq   uint64
}

// Batch is one message for many devices of one connector.
type Batch struct {
	Message   store.Message `json:"message"`
	DeviceIDs []string      `json:"device_ids"`
	// Fallback says the devices' owner could not be reached: the
	// connector takes devices it does not own instead of refusing them,
	// as it accepts their sessions when they come to it as a fallback.
	Fallback bool `json:"fallback,omitempty"`
	// Retry says the message may already be in some of the devices'
	// streams (an earlier attempt's outcome is unknown): the connector
	// appends it only to the streams that do not hold it among their
	// newest messages (store.FindAppended).
	Retry bool `json:"retry,omitempty"`
}

// Local is what a connector offers: deliver one batch, results by position.
type Local interface {
	Deliver(ctx context.Context, b Batch) ([]Result, error)
}
