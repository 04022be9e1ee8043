package apns

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/sideshow/apns2"

	"github.com/mopush/mopush/relay"
)

// PushIDKey is the payload key that carries relay.Message.PushID.
const PushIDKey = "push_id"

// maxCollapseID is APNs's limit on apns-collapse-id, in bytes.
const maxCollapseID = 64

func (s *Sender) notification(m *relay.Message) (*apns2.Notification, error) {
	payload, err := json.Marshal(payloadOf(m))
	if err != nil {
		return nil, fmt.Errorf("apns: encode payload: %w: %w", relay.ErrRejected, err)
	}
	n := &apns2.Notification{
		DeviceToken: m.Token,
		Topic:       s.topic,
		CollapseID:  collapseID(m.CollapseID),
		Payload:     payload,
		Expiration:  m.ExpiresAt,
		PushType:    apns2.PushTypeAlert,
		Priority:    apns2.PriorityLow,
	}
	if m.HighPriority {
		n.Priority = apns2.PriorityHigh
	}
	if m.Background {
		n.PushType = apns2.PushTypeBackground
		n.Priority = apns2.PriorityLow // APNs refuses priority 10 for background pushes
	}
	return n, nil
}

func payloadOf(m *relay.Message) map[string]any {
	aps := map[string]any{}
	if m.Background {
		aps["content-available"] = 1
	} else {
		alert := map[string]string{}
		if m.Title != "" {
			alert["title"] = m.Title
		}
		if m.Body != "" {
			alert["body"] = m.Body
		}
		aps["alert"] = alert
	}
	p := make(map[string]any, len(m.Data)+2)
	for k, v := range m.Data {
		p[k] = v
	}
	if m.PushID != "" {
		p[PushIDKey] = m.PushID
	}
	p["aps"] = aps
	return p
}

// collapseID keeps ids within APNs's limit, mapping a longer one to its
// SHA-256 in hex (64 bytes) so equal ids still collapse.
func collapseID(id string) string {
	if len(id) <= maxCollapseID {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func isPEM(data []byte) bool {
	return bytes.Contains(data, []byte("-----BEGIN "))
}
