package bench

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scriptedWorker answers each command in order, echoing its sequence
// number, after hold(cmd) returns.
func scriptedWorker(t *testing.T, hold func(cmd command)) *workerConn {
	pr, pw := io.Pipe()
	w := &workerConn{name: "w", stdin: pw, enc: json.NewEncoder(pw), replies: make(chan reply, 16)}
	go func() {
		dec := json.NewDecoder(pr)
		for {
			var c command
			if dec.Decode(&c) != nil {
				close(w.replies)
				return
			}
			hold(c)
			w.replies <- reply{Cmd: c.Cmd, Seq: c.Seq, Received: c.Seq * 10}
		}
	}()
	t.Cleanup(func() { pw.Close() })
	return w
}

// A call that gives up leaves its answer behind; the next call skips it and
// returns its own.
func TestPoolCallSkipsLateAnswers(t *testing.T) {
	gate := make(chan struct{})
	w := scriptedWorker(t, func(c command) {
		if c.Seq == 1 {
			<-gate
		}
	})
	p := &pool{ws: []*workerConn{w}}
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := p.call(gone, command{Cmd: cmdStats}, time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	close(gate) // the first answer comes now, after its call gave up

	reps, err := p.call(t.Context(), command{Cmd: cmdStats, Hist: true}, time.Minute)
	require.NoError(t, err)
	require.Len(t, reps, 1)
	require.EqualValues(t, 2, reps[0].Seq)
	require.EqualValues(t, 20, reps[0].Received)
}

// A step whose deliveries were counted but whose latencies were not is not
// sustained, however low its (empty) p99 reads.
func TestSustainedNeedsEveryLatency(t *testing.T) {
	r := &stepResult{rate: 100, achieved: 100, accepted: 3, received: 3}
	require.False(t, r.sustained())
	for range 3 {
		r.hist.Record(time.Millisecond)
	}
	require.True(t, r.sustained())
	r.hist.Record(20 * time.Millisecond)
	r.hist.Record(20 * time.Millisecond)
	require.False(t, r.sustained(), "p99 over 10 ms")
}
