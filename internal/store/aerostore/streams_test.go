package aerostore

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/outcome"
	"github.com/mopush/mopush/internal/store"
)

// TestHeadStart checks the read rules of store.Streams on the head alone,
// with the cases of the conformance suite.
func TestHeadStart(t *testing.T) {
	t.Parallel()
	const e = 77
	five := head{epoch: e, seq: 5, n: 5}     // messages 1..5
	trimmed := head{epoch: e, seq: 12, n: 5} // messages 8..12
	for _, c := range []struct {
		name         string
		h            head
		epoch, since uint64
		start        uint64
		recovered    bool
	}{
		{"from_start", five, e, 0, 1, true},
		{"after_cursor", five, e, 2, 3, true},
		{"at_head", five, e, 5, 6, true},
		{"other_epoch", five, e + 1, 3, 1, false},
		{"other_epoch_from_start", five, e + 1, 0, 1, false},
		{"no_epoch_with_cursor", five, 0, 3, 1, false},
		{"no_epoch_from_start", five, 0, 0, 1, true},
		{"cursor_past_head", five, e, 9, 1, false},
		{"cursor_at_oldest", trimmed, e, 7, 8, true},
		{"cursor_trimmed", trimmed, e, 6, 8, false},
		{"from_start_trimmed", trimmed, e, 0, 8, false},
		{"no_epoch_trimmed", trimmed, 0, 0, 8, false},
		{"after_trim", trimmed, e, 10, 11, true},
		{"no_stream", head{}, 0, 0, 1, true},
		{"no_stream_cursor", head{}, 0, 4, 1, false},
		{"no_stream_epoch", head{}, 42, 0, 1, false},
		{"max_since", five, e, math.MaxUint64, 1, false},
		{"all_trimmed", head{epoch: e, seq: 9, n: 0}, e, 9, 10, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start, ok := c.h.start(c.epoch, c.since)
			require.Equal(t, c.start, start)
			require.Equal(t, c.recovered, ok)
		})
	}
}

// TestHeadAdvance checks the watermark rules with the conformance suite's
// cases.
func TestHeadAdvance(t *testing.T) {
	t.Parallel()
	five := head{epoch: 1, seq: 5, n: 5}
	for _, c := range []struct {
		name              string
		h                 head
		cur, through      uint64
		from, count, next uint64
	}{
		{"first", five, 0, 2, 0, 2, 2},
		{"same", five, 2, 2, 2, 0, 2},
		{"back", five, 2, 1, 2, 0, 2},
		{"past_head", five, 2, 100, 2, 3, 5},
		{"at_head", five, 5, 100, 5, 0, 5},
		{"trimmed_below", head{epoch: 1, seq: 10, n: 5}, 0, 3, 5, 0, 3},
		{"trimmed_across", head{epoch: 1, seq: 10, n: 5}, 3, 10, 5, 5, 10},
		{"no_stream", head{}, 0, 10, 0, 0, 0},
		{"max", five, 0, math.MaxInt64, 0, 5, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			from, count, next := c.h.advance(c.cur, c.through)
			require.Equal(t, []uint64{c.from, c.count, c.next}, []uint64{from, count, next})
		})
	}
}

func TestParseWindow(t *testing.T) {
	t.Parallel()
	msg := func(s string) []byte { return encodeMessage(&store.Message{PushID: s}) }
	bins := as.BinMap{
		binEpoch: 77, binSeq: 12, resLen: 5,
		resMsgs: []any{msg("10"), msg("11"), msg("12")},
	}
	w, err := parseWindow(bins, 77, 9, 10)
	require.NoError(t, err)
	require.Equal(t, head{epoch: 77, seq: 12, n: 5}, w.head)
	require.EqualValues(t, 10, w.start)
	require.True(t, w.recovered)
	require.Len(t, w.msgs, 3)

	w, err = parseWindow(as.BinMap{}, 0, 0, 10)
	require.NoError(t, err)
	require.Zero(t, w.epoch)
	require.True(t, w.recovered)

	w, err = parseWindow(as.BinMap{binOut: map[any]any{1: 1}}, 5, 0, 10)
	require.NoError(t, err, "a record with outcomes only has no stream")
	require.False(t, w.recovered)

	bins[resMsgs] = []any{msg("11"), msg("12")}
	_, err = parseWindow(bins, 77, 9, 10)
	require.ErrorIs(t, err, errMalformed, "the server read from elsewhere than the client computed")
	bins[resLen] = 13
	_, err = parseWindow(bins, 77, 9, 10)
	require.ErrorIs(t, err, errMalformed, "more messages than sequence numbers")
	bins[resLen] = "5"
	_, err = parseWindow(bins, 77, 9, 10)
	require.ErrorIs(t, err, errMalformed)
}

func TestParseAdvance(t *testing.T) {
	t.Parallel()
	msg := func(s string) []byte { return encodeMessage(&store.Message{PushID: s}) }
	bins := as.BinMap{resMark: 3, resSeq: 10, resLen: 5, resMsgs: []any{msg("6"), msg("7")}}
	got, next, err := parseAdvance(bins, 7)
	require.NoError(t, err)
	require.EqualValues(t, 7, next)
	require.Len(t, got, 2)
	require.EqualValues(t, 6, got[0].Seq)
	require.Equal(t, "6", got[0].PushID)
	require.EqualValues(t, 7, got[1].Seq)

	got, _, err = parseAdvance(as.BinMap{}, 7)
	require.NoError(t, err)
	require.Empty(t, got, "no stream")

	_, _, err = parseAdvance(bins, 8)
	require.ErrorIs(t, err, errMalformed, "count differs from what the server read")
}

// FuzzParseWindow feeds the read decoder arbitrary heads and messages, as a
// corrupted record would: it must never panic, and what it accepts must be
// consistent with the head.
func FuzzParseWindow(f *testing.F) {
	f.Add(uint64(77), uint64(12), uint64(5), uint64(77), uint64(9), uint8(10), uint8(3), encodeMessage(&store.Message{PushID: "p"}))
	f.Add(uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(1), uint8(0), []byte(nil))
	f.Fuzz(func(t *testing.T, epoch, seq, n, reqEpoch, since uint64, count, nmsgs uint8, blob []byte) {
		bins := as.BinMap{}
		if epoch != 0 {
			bins[binEpoch] = int(epoch & math.MaxInt64)
			bins[binSeq] = int(seq & math.MaxInt64)
			bins[resLen] = int(n & math.MaxInt64)
			msgs := make([]any, nmsgs)
			for i := range msgs {
				msgs[i] = blob
			}
			bins[resMsgs] = msgs
		}
		w, err := parseWindow(bins, reqEpoch, since, int(count)+1)
		if err != nil {
			return
		}
		require.LessOrEqual(t, w.n, w.seq)
		require.LessOrEqual(t, len(w.msgs), int(count)+1)
		if len(w.msgs) > 0 {
			require.LessOrEqual(t, w.start+uint64(len(w.msgs))-1, w.seq)
			require.GreaterOrEqual(t, w.start, w.first())
		}
	})
}

// TestOpsBuild builds every operation list the store sends: the client
// encodes expressions while building and panics on a malformed one.
func TestOpsBuild(t *testing.T) {
	t.Parallel()
	g := &appendGroup{device: "d", blobs: []any{[]byte("a")}, keep: 1000, floor: 1, epoch: newEpoch()}
	require.Len(t, appendOps(g), 6)
	g.blobs = append(g.blobs, []byte("b"), []byte("c"))
	require.Len(t, appendOps(g), 6)
	for _, c := range [][2]uint64{{0, 0}, {0, 5}, {7, 0}, {7, 5}, {store.MaxEpoch + 1, 5}, {7, math.MaxUint64}} {
		require.Len(t, readOps(c[0], c[1], 101), 4)
	}
	for _, through := range []uint64{0, 5, math.MaxUint64} {
		require.Len(t, advanceOps(binAcked, through), 5)
	}
	for _, o := range []store.Outcome{store.OutcomeAcked, store.OutcomeRelayed} {
		require.Len(t, outcomeOps(9, o, 1000), 3)
	}
}

func TestNewEpoch(t *testing.T) {
	t.Parallel()
	for range 1000 {
		e := newEpoch()
		require.NotZero(t, e)
		require.LessOrEqual(t, e, uint64(store.MaxEpoch))
	}
}

func TestGroupEntries(t *testing.T) {
	t.Parallel()
	cfg, err := withDefaults(Config{Hosts: []string{"h:1"}, MaxStreamLen: 2})
	require.NoError(t, err)
	s := newStore(nil, cfg)
	entries := []store.Entry{{DeviceID: "a"}, {DeviceID: "b"}, {DeviceID: "a"}, {DeviceID: "c"}, {DeviceID: "a"}}
	groups, err := s.groupEntries(entries)
	require.NoError(t, err)
	require.Len(t, groups, 3)
	require.Equal(t, "a", groups[0].device)
	require.Equal(t, []int{0, 2, 4}, groups[0].idx)
	require.Equal(t, 2, groups[0].keep)
	require.Equal(t, 2, groups[0].floor, "a batch longer than the retention keeps only the retention")
	require.Equal(t, []int{1}, groups[1].idx)
	require.Equal(t, 1, groups[1].floor)
	require.NotEqual(t, groups[0].epoch, groups[1].epoch)
}

func TestSettle(t *testing.T) {
	t.Parallel()
	cfg, err := withDefaults(Config{Hosts: []string{"h:1"}, MaxStreamLen: 1000})
	require.NoError(t, err)
	s := newStore(nil, cfg)
	ctx := t.Context()
	g := &appendGroup{device: "d", idx: []int{0, 2}, blobs: []any{[]byte{}, []byte{}}, keep: 1000, floor: 2}
	pos := make([]store.Position, 3)

	again, err := s.settle(ctx, g, appendResult{epoch: 5, seq: 9}, pos)
	require.NoError(t, err)
	require.False(t, again)
	require.Equal(t, []store.Position{{Epoch: 5, Seq: 8}, {}, {Epoch: 5, Seq: 9}}, pos)

	tooBig := appendResult{err: &as.AerospikeError{ResultCode: codeRecordBig}}
	var keeps []int
	for {
		again, err = s.settle(ctx, g, tooBig, pos)
		if err != nil {
			break
		}
		require.True(t, again)
		keeps = append(keeps, g.keep)
	}
	require.ErrorIs(t, err, ErrRecordTooBig)
	require.Equal(t, []int{500, 250, 125, 62, 31, 15, 7, 3, 2}, keeps)

	_, err = s.settle(ctx, g, appendResult{epoch: 0, seq: 9}, pos)
	require.ErrorIs(t, err, errMalformed)
	_, err = s.settle(ctx, g, appendResult{epoch: 5, seq: 1}, pos)
	require.ErrorIs(t, err, errMalformed)
	_, err = s.settle(ctx, g, appendResult{err: &as.AerospikeError{ResultCode: codeKeyBusy}}, pos)
	require.NoError(t, err)
	_, err = s.settle(ctx, g, appendResult{err: &as.AerospikeError{ResultCode: codeNotFound}}, pos)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestOpResult(t *testing.T) {
	t.Parallel()
	v, err := opResult(7, 0, 1)
	require.NoError(t, err)
	require.Equal(t, 7, v)
	v, err = opResult([]any{nil, 3, nil}, 1, 3)
	require.NoError(t, err)
	require.Equal(t, 3, v)
	v, err = opResult(as.OpResults{2, 3, nil}, 0, 3)
	require.NoError(t, err)
	require.Equal(t, 2, v)
	_, err = opResult([]any{1}, 0, 3)
	require.ErrorIs(t, err, errMalformed)
	_, err = opResult(nil, 0, 2)
	require.ErrorIs(t, err, errMalformed)

	o, err := toOutcome(nil)
	require.NoError(t, err)
	require.Equal(t, store.OutcomeNone, o)
	o, err = toOutcome(int(store.OutcomeAcked))
	require.NoError(t, err)
	require.Equal(t, store.OutcomeAcked, o)
	_, err = toOutcome(300)
	require.ErrorIs(t, err, errMalformed)
}

func TestAliasKeyAndDedupe(t *testing.T) {
	t.Parallel()
	require.NotEqual(t, aliasKey("ab", "c"), aliasKey("a", "bc"))
	require.NotEqual(t, aliasKey("1:a", "b"), aliasKey("1", ":ab"))
	require.Equal(t, "4:app1alice", aliasKey("app1", "alice"))

	uniq, pos := dedupe([]string{"b", "x", "a", "b"})
	require.Equal(t, []string{"b", "x", "a"}, uniq)
	require.Equal(t, []int{0, 1, 2, 0}, pos)

	require.Positive(t, newToken())
}

// A probe for more messages that does not fit falls back to the count
// known to fit, without halving and without a warning.
func TestSettleProbeFallsBack(t *testing.T) {
	t.Parallel()
	cfg, err := withDefaults(Config{Hosts: []string{"h:1"}, MaxStreamLen: 1000})
	require.NoError(t, err)
	s := newStore(nil, cfg)
	g := &appendGroup{device: "d", idx: []int{0}, blobs: []any{[]byte{}}, keep: 17, known: 15, floor: 1}
	tooBig := appendResult{err: &as.AerospikeError{ResultCode: codeRecordBig}}
	again, err := s.settle(t.Context(), g, tooBig, make([]store.Position, 1))
	require.NoError(t, err)
	require.True(t, again)
	require.Equal(t, 15, g.keep)
	again, err = s.settle(t.Context(), g, tooBig, make([]store.Position, 1))
	require.NoError(t, err)
	require.True(t, again)
	require.Equal(t, 7, g.keep, "what fitted before no longer does: halve")
	require.Zero(t, g.known)
	_, err = s.settle(t.Context(), g, appendResult{epoch: 5, seq: 9}, make([]store.Position, 1))
	require.NoError(t, err)
	keep, known := s.fits.start("d", 1000)
	require.Equal(t, 7, keep, "the next append starts from what fitted")
	require.Equal(t, 7, known)
}

func TestFits(t *testing.T) {
	t.Parallel()
	f := fits{m: make(map[string]fit)}
	keep, known := f.start("d", 100)
	require.Equal(t, 100, keep, "nothing known: the most")
	require.Zero(t, known)

	f.record("d", 40, 100)
	var probes []int
	for i := 1; i <= 2*probeEvery; i++ {
		keep, known = f.start("d", 100)
		require.Equal(t, 40, known)
		if keep != 40 {
			require.Equal(t, 46, keep, "an eighth more, and one")
			probes = append(probes, i)
		}
	}
	require.Equal(t, []int{probeEvery, 2 * probeEvery}, probes)

	f.record("d", 39, 40)
	keep, _ = f.start("d", 40)
	require.Equal(t, 39, keep)
	f.record("d", 40, 40)
	keep, known = f.start("d", 40)
	require.Equal(t, 40, keep, "a record that holds the most is forgotten")
	require.Zero(t, known)

	for i := range maxFits {
		f.record(strconv.Itoa(i), 1, 2)
	}
	require.Len(t, f.m, maxFits)
	f.record("one more", 1, 2)
	require.Len(t, f.m, 1, "full: starts over")
}

// noCounts is the store with counters that count nothing: they live in
// MongoDB, not here.
type noCounts struct{ *Store }

func (noCounts) AddCounts(context.Context, string, store.Counts) error { return nil }

// TestAdvanceAckedReadsAgainAfterAWrite writes the stream's record between
// AdvanceAcked's read and its write: the write, which expects the record
// as read, is refused and the acknowledgement reads again, so the relay's
// outcome written in between is seen and replaced. A record written
// between every read and write gives up with errors.ErrUnsupported, having
// moved nothing, and outcome.Ack then records it in two writes.
func TestAdvanceAckedReadsAgainAfterAWrite(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, Config{})
	ctx := t.Context()
	pos, err := s.Append(ctx, []store.Entry{{DeviceID: "d", Message: store.Message{PushID: "p1"}},
		{DeviceID: "d", Message: store.Message{PushID: "p2"}}})
	require.NoError(t, err)
	writes := 0
	s.afterAckRead = func() {
		if writes++; writes == 1 {
			_, set, err := s.SetOutcome(ctx, "d", pos[0].Seq, store.OutcomeRelayed)
			require.NoError(t, err)
			require.True(t, set)
		}
	}
	got, err := s.AdvanceAcked(ctx, "d", pos[0].Seq, time.Now())
	require.NoError(t, err)
	require.Equal(t, 2, writes, "read again after the write in between")
	require.Len(t, got, 1)
	require.Equal(t, store.OutcomeRelayed, got[0].Prev)
	require.True(t, got[0].Set)
	o, err := s.OutcomeOf(ctx, "d", pos[0].Seq)
	require.NoError(t, err)
	require.Equal(t, store.OutcomeAcked, o)

	s.afterAckRead = func() {
		_, err := s.Advance(ctx, "d", store.MarkSent, pos[1].Seq) // writes the record every time
		require.NoError(t, err)
	}
	_, err = s.AdvanceAcked(ctx, "d", pos[1].Seq, time.Now())
	require.ErrorIs(t, err, errors.ErrUnsupported)
	mark, err := s.Watermark(ctx, "d", store.MarkAcked)
	require.NoError(t, err)
	require.Equal(t, pos[0].Seq, mark, "nothing moved")

	n, err := outcome.Ack(ctx, noCounts{s}, "d", pos[1].Seq, time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, n, "recorded in two writes")
	o, err = s.OutcomeOf(ctx, "d", pos[1].Seq)
	require.NoError(t, err)
	require.Equal(t, store.OutcomeAcked, o)
}
