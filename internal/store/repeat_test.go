package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// sliceStreams is a StreamReader over in-memory streams of one epoch.
type sliceStreams struct {
	epoch uint64
	msgs  map[string][]Message // by device, seq i+1 at index i
	reads int
}

func (s *sliceStreams) ReadStream(_ context.Context, dev string, epoch, since uint64, limit int) (Page, error) {
	s.reads++
	all := s.msgs[dev]
	p := Page{Epoch: s.epoch, Head: uint64(len(all)), Recovered: epoch == s.epoch}
	if epoch != s.epoch {
		since = 0
	}
	for _, m := range all[min(int(since), len(all)):] {
		if len(p.Messages) == limit {
			p.More = true
			break
		}
		p.Messages = append(p.Messages, m)
	}
	return p, nil
}

func stream(n int, pushID func(seq int) string) []Message {
	out := make([]Message, n)
	for i := range out {
		out[i] = Message{Seq: uint64(i + 1), PushID: pushID(i + 1)}
	}
	return out
}

func TestFindAppended(t *testing.T) {
	long := RepeatWindow + 10
	r := &sliceStreams{epoch: 9, msgs: map[string][]Message{
		"recent": stream(long, func(seq int) string { return fmt.Sprint("p", seq) }),
		"old":    stream(long, func(seq int) string { return fmt.Sprint("p", seq) }),
	}}
	entries := []Entry{
		{DeviceID: "recent", Message: Message{PushID: fmt.Sprint("p", long-RepeatWindow+1)}}, // the oldest searched
		{DeviceID: "old", Message: Message{PushID: fmt.Sprint("p", long-RepeatWindow)}},      // just outside
		{DeviceID: "empty", Message: Message{PushID: "p1"}},
		{DeviceID: "recent", Message: Message{PushID: "never"}},
	}
	pos, found, err := FindAppended(context.Background(), r, entries)
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, false, false}, found)
	require.Equal(t, Position{Epoch: 9, Seq: uint64(long - RepeatWindow + 1)}, pos[0])
	require.Equal(t, Position{}, pos[1])
}
