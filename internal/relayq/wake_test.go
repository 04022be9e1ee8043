package relayq

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

func TestWake(t *testing.T) {
	at := func(ms ...int64) []Job {
		jobs := make([]Job, len(ms))
		for i, m := range ms {
			jobs[i].DueMs = m
		}
		return jobs
	}
	require.Equal(t, time.UnixMilli(10_020), Wake(at(10_000, 10_020, 10_005)), "close together: the last")
	require.Equal(t, time.UnixMilli(11_000), Wake(at(11_000, 10_000)), "exactly DueSpread apart: the last")
	require.Equal(t, time.UnixMilli(10_000), Wake(at(30_000, 10_000)), "far apart: the first")
	require.Equal(t, time.UnixMilli(5), Wake(at(5)))
}

func TestWakeOf(t *testing.T) {
	cases := []struct {
		val  string
		ok   bool
		want int64
	}{
		{"1700000000123", true, 1700000000123},
		{"", false, 0},
		{"0", false, 0},
		{"-5", false, 0},
		{"12x", false, 0},
		{"99999999999999999999", false, 0},
		{strconv.FormatInt(maxWakeMs+1, 10), false, 0},
	}
	for _, c := range cases {
		h := nats.Header{}
		if c.val != "" {
			h.Set(HeaderWake, c.val)
		}
		at, ok := WakeOf(h)
		require.Equal(t, c.ok, ok, c.val)
		if ok {
			require.Equal(t, c.want, at.UnixMilli(), c.val)
		}
	}
	_, ok := WakeOf(nil)
	require.False(t, ok, "a message without headers")
}

// FuzzWakeOf feeds arbitrary header values: never a panic, and a value
// that is read is a positive time that prints back to itself.
func FuzzWakeOf(f *testing.F) {
	for _, s := range []string{"1700000000123", "", "-1", "1e9", " 12", "253402300799999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		at, ok := WakeOf(nats.Header{HeaderWake: []string{v}})
		if !ok {
			return
		}
		ms := at.UnixMilli()
		if ms <= 0 || ms > maxWakeMs {
			t.Fatalf("%q read as %d", v, ms)
		}
		if back, err := strconv.ParseInt(v, 10, 64); err != nil || back != ms {
			t.Fatalf("%q read as %d", v, ms)
		}
	})
}
