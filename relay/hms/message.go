package hms

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/mopush/mopush/relay"
	"github.com/mopush/mopush/relay/internal/sendkit"
)

// PushIDKey is the data key that carries relay.Message.PushID.
const PushIDKey = "push_id"

// maxTTL is Push Kit's longest android.ttl.
const maxTTL = 15 * 24 * time.Hour

// clickOpenApp is click_action type 3: open the app's launcher activity.
const clickOpenApp = 3

type sendRequest struct {
	Message *message `json:"message"`
}

type message struct {
	Token   []string `json:"token"`
	Data    string   `json:"data,omitempty"`
	Android *android `json:"android"`
}

type android struct {
	Urgency      string               `json:"urgency,omitempty"`
	TTL          string               `json:"ttl,omitempty"`
	BiTag        string               `json:"bi_tag,omitempty"`
	Notification *androidNotification `json:"notification,omitempty"`
}

type androidNotification struct {
	Title       string      `json:"title"`
	Body        string      `json:"body"`
	Tag         string      `json:"tag,omitempty"`
	ClickAction clickAction `json:"click_action"`
}

type clickAction struct {
	Type int `json:"type"`
}

// messageOf builds the Push Kit message for m, which has ttl left (0: no
// expiry).
func messageOf(m *relay.Message, ttl time.Duration) *message {
	out := &message{
		Token:   []string{m.Token},
		Data:    dataOf(m),
		Android: &android{BiTag: m.PushID},
	}
	if m.Background {
		out.Android.Urgency = "NORMAL"
		if m.HighPriority {
			out.Android.Urgency = "HIGH"
		}
		if out.Data == "" {
			out.Data = "{}"
		}
	} else {
		out.Android.Notification = &androidNotification{
			Title: m.Title, Body: m.Body, Tag: m.CollapseID,
			ClickAction: clickAction{Type: clickOpenApp},
		}
	}
	if ttl = sendkit.Clamp(ttl, time.Second, maxTTL); ttl > 0 {
		out.Android.TTL = strconv.FormatInt(int64(ttl/time.Second), 10) + "s"
	}
	return out
}

// dataOf encodes Data and PushID as the JSON object string message.data
// carries; "" when there is neither.
func dataOf(m *relay.Message) string {
	if len(m.Data) == 0 && m.PushID == "" {
		return ""
	}
	d := make(map[string]string, len(m.Data)+1)
	for k, v := range m.Data {
		d[k] = v
	}
	if m.PushID != "" {
		d[PushIDKey] = m.PushID
	}
	b, _ := json.Marshal(d) // a map of strings always encodes
	return string(b)
}
