package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Encodings store Vector; one written before Opened and Clicked existed
// has ten counters and reads with those two zero.
func TestCountsVector(t *testing.T) {
	c := Counts{Targeted: 1, Delivered: 2, Acked: 3, Offline: 4, Failed: 5, Relayed: 6,
		RelayFailed: 7, Expired: 8, NoChannel: 9, DeadTokens: 10, Opened: 11, Clicked: 12,
		AckedWithin1s: 13, AckedWithin10s: 14, AckedWithin60s: 15}
	v := c.Vector()
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, v, "every counter, in order")
	require.Equal(t, c, CountsFromVector(v))
	old := c
	old.AckedWithin1s, old.AckedWithin10s, old.AckedWithin60s = 0, 0, 0
	require.Equal(t, old, CountsFromVector(v[:12]))
	old.Opened, old.Clicked = 0, 0
	require.Equal(t, old, CountsFromVector(v[:10]))
	require.Equal(t, c, CountsFromVector(append(v, 16)), "a longer vector's extra counters are ignored")
	require.Equal(t, Counts{Opened: 2, Clicked: 1}, Counts{Opened: 1}.Add(Counts{Opened: 1, Clicked: 1}))
}

func TestAckTiming(t *testing.T) {
	sent := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	for delay, want := range map[time.Duration]Counts{
		-time.Second:            {AckedWithin1s: 1, AckedWithin10s: 1, AckedWithin60s: 1}, // clocks of two nodes
		300 * time.Millisecond:  {AckedWithin1s: 1, AckedWithin10s: 1, AckedWithin60s: 1},
		time.Second:             {AckedWithin1s: 1, AckedWithin10s: 1, AckedWithin60s: 1},
		1001 * time.Millisecond: {AckedWithin10s: 1, AckedWithin60s: 1},
		10 * time.Second:        {AckedWithin10s: 1, AckedWithin60s: 1},
		59 * time.Second:        {AckedWithin60s: 1},
		61 * time.Second:        {},
		time.Hour:               {},
	} {
		require.Equal(t, want, AckTiming(sent, sent.Add(delay)), delay)
	}
	require.Equal(t, Counts{}, AckTiming(time.Time{}, sent), "no append time")
}
