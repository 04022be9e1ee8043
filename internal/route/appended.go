package route

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mopush/mopush/internal/store"
)

// AppendedSubject is the NATS subject on which a gateway tells every
// connector about messages it appended to devices' streams itself (no
// connector took them: every attempt failed or was refused). A connector
// that holds a live session of one of those devices writes the message to
// it, or catches the session up, instead of leaving it to the device's next
// reconnect. Best effort: a connector that misses it loses nothing, the
// message waits in the stream.
const AppendedSubject = "mopush.streams.appended"

// maxAppendedDevices bounds the devices of one announcement, as the
// gateway bounds a push's targets.
const maxAppendedDevices = 100_000

// Appended is one message a gateway appended to devices' streams, and
// where.
type Appended struct {
	Message store.Message `json:"message"`
	Devices []AppendedAt  `json:"devices"`
}

// AppendedAt is the position of the message in one device's stream.
type AppendedAt struct {
	DeviceID string `json:"device_id"`
	Epoch    uint64 `json:"epoch"`
	Seq      uint64 `json:"seq"`
}

// ErrBadAppended means an announcement could not be decoded or names an
// impossible position.
var ErrBadAppended = errors.New("route: malformed appended announcement")

// EncodeAppended encodes a for AppendedSubject.
func EncodeAppended(a Appended) ([]byte, error) {
	b, err := json.Marshal(&a)
	if err != nil {
		return nil, fmt.Errorf("route: encode appended: %w", err)
	}
	return b, nil
}

// DecodeAppended decodes an announcement of AppendedSubject: every device
// must have an id, and a position with an epoch and a sequence number in
// the ranges streams use.
func DecodeAppended(b []byte) (Appended, error) {
	var a Appended
	if err := json.Unmarshal(b, &a); err != nil {
		return Appended{}, fmt.Errorf("%w: %v", ErrBadAppended, err)
	}
	if a.Message.PushID == "" {
		return Appended{}, fmt.Errorf("%w: no push id", ErrBadAppended)
	}
	if len(a.Devices) == 0 || len(a.Devices) > maxAppendedDevices {
		return Appended{}, fmt.Errorf("%w: %d devices", ErrBadAppended, len(a.Devices))
	}
	for i, d := range a.Devices {
		if d.DeviceID == "" || d.Epoch == 0 || d.Epoch > store.MaxEpoch || d.Seq == 0 {
			return Appended{}, fmt.Errorf("%w: device %d: id %q, epoch %d, seq %d", ErrBadAppended, i, d.DeviceID, d.Epoch, d.Seq)
		}
	}
	return a, nil
}
