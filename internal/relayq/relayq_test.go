package relayq

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/bus"
)

func TestPublishAndDecode(t *testing.T) {
	b, err := bus.Open(bus.Config{Dir: t.TempDir()}, nil)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	s, err := Ensure(t.Context(), b.JS)
	require.NoError(t, err)
	p := &Publisher{JS: b.JS}
	require.NoError(t, p.Schedule(t.Context(), []Job{{PushID: "p", AppID: "a", DeviceID: "d", Seq: 3, DueMs: 5}}))
	require.NoError(t, p.Send(t.Context(), []Job{{PushID: "p", AppID: "a", DeviceID: "d", Vendor: "apns", Token: "t"}}))
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 2, info.State.Msgs)

	msg, err := s.GetMsg(t.Context(), 1)
	require.NoError(t, err)
	require.Equal(t, SubjectFallback, msg.Subject)
	j, err := Decode(msg.Data)
	require.NoError(t, err)
	require.Equal(t, Job{PushID: "p", AppID: "a", DeviceID: "d", Seq: 3, DueMs: 5}, j)
	msg, err = s.GetMsg(t.Context(), 2)
	require.NoError(t, err)
	require.Equal(t, SubjectSendPrefix+"apns", msg.Subject)
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"push_id":"p","app_id":"a","device_id":"d","seq":1,"due_ms":2}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`nul`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := Decode(b)
		if err == nil && (j.PushID == "" || j.AppID == "" || j.DeviceID == "") {
			t.Fatalf("incomplete job accepted: %+v", j)
		}
	})
}
