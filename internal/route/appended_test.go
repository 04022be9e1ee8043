package route

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/store"
)

func TestAppendedRoundTrip(t *testing.T) {
	a := Appended{
		Message: store.Message{PushID: "p1", Title: "t", Body: "b", Data: map[string]string{"k": "v"},
			SentAt: time.Unix(1_700_000_000, 0).UTC()},
		Devices: []AppendedAt{{DeviceID: "d1", Epoch: 7, Seq: 3}, {DeviceID: "d2", Epoch: store.MaxEpoch, Seq: 1}},
	}
	b, err := EncodeAppended(a)
	require.NoError(t, err)
	got, err := DecodeAppended(b)
	require.NoError(t, err)
	require.Equal(t, a, got)
}

func TestAppendedRefused(t *testing.T) {
	for name, in := range map[string]string{
		"not json":      `{`,
		"no push":       `{"message":{},"devices":[{"device_id":"d","epoch":1,"seq":1}]}`,
		"no devices":    `{"message":{"push_id":"p"},"devices":[]}`,
		"no device id":  `{"message":{"push_id":"p"},"devices":[{"epoch":1,"seq":1}]}`,
		"no epoch":      `{"message":{"push_id":"p"},"devices":[{"device_id":"d","seq":1}]}`,
		"epoch too big": `{"message":{"push_id":"p"},"devices":[{"device_id":"d","epoch":9007199254740992,"seq":1}]}`,
		"no seq":        `{"message":{"push_id":"p"},"devices":[{"device_id":"d","epoch":1}]}`,
		"wrong type":    `{"message":{"push_id":"p"},"devices":[{"device_id":"d","epoch":"1","seq":1}]}`,
	} {
		_, err := DecodeAppended([]byte(in))
		require.ErrorIs(t, err, ErrBadAppended, name)
	}
}

// FuzzDecodeAppended: any input decodes to a valid announcement or is
// refused with ErrBadAppended, and what decodes encodes back to the same.
func FuzzDecodeAppended(f *testing.F) {
	f.Add([]byte(`{"message":{"push_id":"p"},"devices":[{"device_id":"d","epoch":1,"seq":1}]}`))
	f.Add([]byte(`{"message":{"push_id":"p","title":"t","data":{"a":"b"}},"devices":[{"device_id":"d","epoch":9007199254740991,"seq":18446744073709551615}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAppended(b)
		if err != nil {
			require.ErrorIs(t, err, ErrBadAppended)
			return
		}
		require.NotEmpty(t, a.Message.PushID)
		require.NotEmpty(t, a.Devices)
		for _, d := range a.Devices {
			require.NotEmpty(t, d.DeviceID)
			require.NotZero(t, d.Epoch)
			require.LessOrEqual(t, d.Epoch, uint64(store.MaxEpoch))
			require.NotZero(t, d.Seq)
		}
		enc, err := EncodeAppended(a)
		require.NoError(t, err)
		again, err := DecodeAppended(enc)
		require.NoError(t, err)
		require.Equal(t, a, again)
	})
}
