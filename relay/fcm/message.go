package fcm

import (
	"strconv"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// PushIDKey is the data key that carries relay.Message.PushID.
const PushIDKey = "push_id"

// maxTTL is FCM's longest android.ttl.
const maxTTL = 28 * 24 * time.Hour

type sendRequest struct {
	Message *message `json:"message"`
}

type message struct {
	Token        string            `json:"token"`
	Notification *notification     `json:"notification,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
	Android      *android          `json:"android,omitempty"`
}

type notification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

type android struct {
	CollapseKey string `json:"collapse_key,omitempty"`
	Priority    string `json:"priority"`
	TTL         string `json:"ttl,omitempty"`
}

// messageOf builds the FCM message for m, which has ttl left (0: no
// expiry).
func messageOf(m *relay.Message, ttl time.Duration) *message {
	out := &message{
		Token:   m.Token,
		Data:    dataOf(m),
		Android: &android{CollapseKey: m.CollapseID, Priority: "NORMAL"},
	}
	if !m.Background {
		out.Notification = &notification{Title: m.Title, Body: m.Body}
	}
	if m.HighPriority {
		out.Android.Priority = "HIGH"
	}
	if ttl = sendkit.Clamp(ttl, time.Second, maxTTL); ttl > 0 {
		out.Android.TTL = strconv.FormatInt(int64(ttl/time.Second), 10) + "s"
	}
	return out
}

func dataOf(m *relay.Message) map[string]string {
	if len(m.Data) == 0 && m.PushID == "" {
		return nil
	}
	d := make(map[string]string, len(m.Data)+1)
	for k, v := range m.Data {
		d[k] = v
	}
	if m.PushID != "" {
		d[PushIDKey] = m.PushID
	}
	return d
}
