package relayq

import (
	"encoding/json"
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
	jobs, err := DecodeBatch(msg.Data)
	require.NoError(t, err)
	require.Equal(t, []Job{{PushID: "p", AppID: "a", DeviceID: "d", Seq: 3, DueMs: 5}}, jobs)
	msg, err = s.GetMsg(t.Context(), 2)
	require.NoError(t, err)
	require.Equal(t, SubjectSendPrefix+"apns", msg.Subject)
}

func TestDecodeBatch(t *testing.T) {
	jobs, err := DecodeBatch([]byte(`{"push_id":"p","app_id":"a","device_id":"d","seq":1,"due_ms":2}`))
	require.NoError(t, err, "a single job, as queued before batches")
	require.Equal(t, []Job{{PushID: "p", AppID: "a", DeviceID: "d", Seq: 1, DueMs: 2}}, jobs)

	for _, bad := range []string{
		`{"jobs":[]}`,
		`{"jobs":null}`,
		`{"jobs":[{"push_id":"p","app_id":"a","device_id":"d"},{"push_id":"p","app_id":"a"}]}`,
		`{"jobs":{}}`,
		`{"jobs":[1]}`,
		`[]`,
		`{}`,
	} {
		_, err := DecodeBatch([]byte(bad))
		require.Error(t, err, bad)
	}
	many := make([]Job, MaxBatch+1)
	for i := range many {
		many[i] = Job{PushID: "p", AppID: "a", DeviceID: "d"}
	}
	b, err := json.Marshal(batch{Jobs: many})
	require.NoError(t, err)
	_, err = DecodeBatch(b)
	require.Error(t, err, "more than MaxBatch jobs")
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(`{"jobs":[{"push_id":"p","app_id":"a","device_id":"d","seq":1,"due_ms":2}]}`))
	f.Add([]byte(`{"push_id":"p","app_id":"a","device_id":"d","seq":1,"due_ms":2}`))
	f.Add([]byte(`{"jobs":[]}`))
	f.Add([]byte(`{"jobs":null,"push_id":"p"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		jobs, err := DecodeBatch(b)
		if err != nil {
			return
		}
		if len(jobs) == 0 || len(jobs) > MaxBatch {
			t.Fatalf("%d jobs accepted", len(jobs))
		}
		for _, j := range jobs {
			if j.PushID == "" || j.AppID == "" || j.DeviceID == "" {
				t.Fatalf("incomplete job accepted: %+v", j)
			}
		}
	})
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
