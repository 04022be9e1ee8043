package aerofake

import (
	"math"
	"reflect"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v7"
)

// Bins and result names of the store's stream records
// (internal/store/aerostore/streams.go).
const (
	stEpoch = "epoch"
	stSeq   = "seq"
	stMsgs  = "msgs"
	stSent  = "sent"
	stOut   = "out"
)

// storeStartIndexExp is the shape of aerostore's startIndexExp: the list
// index where a reader at (epoch, since) starts.
func storeStartIndexExp(epoch, since uint64) *as.Expression {
	if since == 0 || epoch == 0 {
		return as.ExpIntVal(0)
	}
	seq := as.ExpIntBin(stSeq)
	n := as.ExpListSize(as.ExpListBin(stMsgs))
	lost := as.ExpOr(
		as.ExpNotEq(as.ExpIntBin(stEpoch), as.ExpIntVal(int64(epoch))),
		as.ExpGreater(as.ExpIntVal(int64(since)), seq),
	)
	after := as.ExpMax(as.ExpIntVal(0), as.ExpNumAdd(as.ExpIntVal(int64(since)), as.ExpNumSub(n, seq)))
	return as.ExpCond(lost, as.ExpIntVal(0), after)
}

// storeReadOps are the expression reads of aerostore's readOps.
func storeReadOps(epoch, since uint64, count int) []*as.Operation {
	return []*as.Operation{
		as.ExpReadOp("r_len", as.ExpListSize(as.ExpListBin(stMsgs)), as.ExpReadFlagEvalNoFail),
		as.ExpReadOp("r_msgs", as.ExpListGetByIndexRangeCount(as.ListReturnTypeValue,
			storeStartIndexExp(epoch, since), as.ExpIntVal(int64(count)), as.ExpListBin(stMsgs)),
			as.ExpReadFlagEvalNoFail),
	}
}

// storeAdvanceOps is the shape of aerostore's advanceOps: read the
// watermark, the head and the covered messages, and move the watermark.
func storeAdvanceOps(bin string, through uint64) []*as.Operation {
	cur := func() *as.Expression {
		return as.ExpCond(as.ExpBinExists(bin), as.ExpIntBin(bin), as.ExpIntVal(0))
	}
	seq := func() *as.Expression { return as.ExpIntBin(stSeq) }
	n := func() *as.Expression { return as.ExpListSize(as.ExpListBin(stMsgs)) }
	base := func() *as.Expression { return as.ExpNumSub(seq(), n()) }
	to := func() *as.Expression { return as.ExpMin(as.ExpIntVal(int64(min(through, math.MaxInt64))), seq()) }
	from := func() *as.Expression { return as.ExpMax(cur(), base()) }
	count := func() *as.Expression { return as.ExpMax(as.ExpIntVal(0), as.ExpNumSub(to(), from())) }
	covered := as.ExpCond(
		as.ExpEq(count(), as.ExpIntVal(0)), as.ExpListVal(),
		as.ExpListGetByIndexRangeCount(as.ListReturnTypeValue,
			as.ExpNumSub(from(), base()), count(), as.ExpListBin(stMsgs)),
	)
	return []*as.Operation{
		as.ExpReadOp("r_mark", cur(), as.ExpReadFlagEvalNoFail),
		as.ExpReadOp("r_seq", seq(), as.ExpReadFlagEvalNoFail),
		as.ExpReadOp("r_len", n(), as.ExpReadFlagEvalNoFail),
		as.ExpReadOp("r_msgs", covered, as.ExpReadFlagEvalNoFail),
		as.ExpWriteOp(bin, as.ExpMax(cur(), to()), as.ExpWriteFlagEvalNoFail),
	}
}

// streamRecord is a stream of epoch 7 whose newest message is seq 10 and
// which retains seq 7..10.
func streamRecord() map[string]any {
	return map[string]any{stEpoch: int64(7), stSeq: int64(10), stMsgs: blobs("m7", "m8", "m9", "m10")}
}

// outcomesOnly is a record that holds only outcomes.
func outcomesOnly() map[string]any {
	return map[string]any{stOut: kmap(3, 1)}
}

// wantStart is the store's rule for where a reader starts (head.start),
// as a list index into the retained messages (seq first..seq).
func wantStart(epoch, since uint64) int {
	const headEpoch, seq, n = 7, 10, 4
	first := uint64(seq - n + 1)
	lost := (epoch != 0 && epoch != headEpoch) || (epoch == 0 && since > 0) || since > seq
	if lost || since+1 < first {
		return 0
	}
	return int(since + 1 - first)
}

func TestReadExpressions(t *testing.T) {
	readers := []struct{ epoch, since uint64 }{
		{0, 0}, {7, 0}, {0, 3}, {7, 3}, {7, 6}, {7, 7}, {7, 8}, {7, 9}, {7, 10}, {7, 12}, {8, 8},
	}
	for _, r := range readers {
		for _, count := range []int{0, 1, 2, 1000} {
			bins := streamRecord()
			ops := storeReadOps(r.epoch, r.since, count)
			n, code := applyOp(t, bins, "r_len", ops[0])
			if code != codeOK || n != int64(4) {
				t.Errorf("reader %v: r_len %#v, code %d", r, n, code)
			}
			start := wantStart(r.epoch, r.since)
			want := streamRecord()[stMsgs].([]any)[start:]
			want = want[:min(count, len(want))]
			got, code := applyOp(t, bins, "r_msgs", ops[1])
			if code != codeOK || !reflect.DeepEqual(got, want) {
				t.Errorf("reader %v count %d: r_msgs %#v, code %d; want %#v", r, count, got, code, want)
			}
			if !reflect.DeepEqual(bins, streamRecord()) {
				t.Errorf("reader %v: reads changed the record to %#v", r, bins)
			}
		}
	}
}

func TestReadExpressionsWithoutStream(t *testing.T) {
	for _, r := range []struct{ epoch, since uint64 }{{0, 0}, {7, 8}} {
		for _, bins := range []map[string]any{outcomesOnly(), {stEpoch: int64(7), stSeq: int64(10)}} {
			for _, op := range storeReadOps(r.epoch, r.since, 10) {
				if got, code := applyOp(t, bins, "r", op); code != codeOK || got != nil {
					t.Errorf("reader %v on %v: %#v, code %d; want nil", r, bins, got, code)
				}
			}
		}
	}
}

// expStep is an operation of a record and what it answers.
type expStep struct {
	name string
	op   *as.Operation
	want any
	code resultCode
}

// runExpSteps applies steps in order to bins.
func runExpSteps(t *testing.T, bins map[string]any, steps []expStep) {
	t.Helper()
	for i, s := range steps {
		got, code := applyOp(t, bins, s.name, s.op)
		if code != s.code || !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d (%s): %#v, code %d; want %#v, code %d", i, s.name, got, code, s.want, s.code)
		}
	}
}

// advanceSteps are the steps of storeAdvanceOps, answering mark, seq,
// len and msgs.
func advanceSteps(through uint64, mark, seq, n, msgs any) []expStep {
	ops := storeAdvanceOps(stSent, through)
	return []expStep{
		{name: "r_mark", op: ops[0], want: mark},
		{name: "r_seq", op: ops[1], want: seq},
		{name: "r_len", op: ops[2], want: n},
		{name: "r_msgs", op: ops[3], want: msgs},
		{name: stSent, op: ops[4]},
	}
}

func TestAdvanceExpressions(t *testing.T) {
	bins := streamRecord()
	runExpSteps(t, bins, advanceSteps(8, int64(0), int64(10), int64(4), blobs("m7", "m8")))
	if bins[stSent] != int64(8) {
		t.Fatalf("watermark %#v, want 8", bins[stSent])
	}
	runExpSteps(t, bins, advanceSteps(20, int64(8), int64(10), int64(4), blobs("m9", "m10")))
	runExpSteps(t, bins, advanceSteps(5, int64(10), int64(10), int64(4), []any{}))
	runExpSteps(t, bins, advanceSteps(math.MaxUint64, int64(10), int64(10), int64(4), []any{}))
	if bins[stSent] != int64(10) {
		t.Fatalf("watermark %#v, want 10", bins[stSent])
	}

	// A watermark below the retained messages covers from the oldest.
	bins = streamRecord()
	bins[stSent] = int64(2)
	runExpSteps(t, bins, advanceSteps(9, int64(2), int64(10), int64(4), blobs("m7", "m8", "m9")))

	// A record without a stream: everything unknown, nothing written.
	bins = outcomesOnly()
	runExpSteps(t, bins, advanceSteps(9, int64(0), nil, nil, nil))
	if !reflect.DeepEqual(bins, outcomesOnly()) {
		t.Fatalf("advance wrote to a record without a stream: %#v", bins)
	}
}

func TestAppendExpressions(t *testing.T) {
	epochWrite := func(epoch int64, flags as.ExpWriteFlags) *as.Operation {
		return as.ExpWriteOp(stEpoch, as.ExpIntVal(epoch), flags)
	}
	createOnce := as.ExpWriteFlagCreateOnly | as.ExpWriteFlagPolicyNoFail
	readEpoch := as.ExpReadOp("r_epoch", as.ExpIntBin(stEpoch), as.ExpReadFlagDefault)
	bins := outcomesOnly()
	runExpSteps(t, bins, []expStep{
		{name: "r_epoch", op: readEpoch, code: codeOpNotApplicable}, // no bin, no EVAL_NO_FAIL
		{name: stEpoch, op: epochWrite(5, createOnce)},
		{name: "r_epoch", op: readEpoch, want: int64(5)},
		{name: stEpoch, op: epochWrite(6, createOnce)}, // exists: left alone
		{name: "r_epoch", op: readEpoch, want: int64(5)},
		{name: stEpoch, op: epochWrite(6, as.ExpWriteFlagCreateOnly), code: codeBinExists},
		{name: stEpoch, op: epochWrite(6, as.ExpWriteFlagDefault)},
		{name: "r_epoch", op: readEpoch, want: int64(6)},
		{name: "x", op: as.ExpWriteOp("x", as.ExpIntVal(1), as.ExpWriteFlagUpdateOnly), code: codeBinNotFound},
		{name: "x", op: as.ExpWriteOp("x", as.ExpIntVal(1), as.ExpWriteFlagUpdateOnly|as.ExpWriteFlagPolicyNoFail)},
	})
	if _, ok := bins["x"]; ok {
		t.Errorf("update-only wrote a missing bin")
	}
}

func TestExpressionSemantics(t *testing.T) {
	read := func(e *as.Expression) *as.Operation { return as.ExpReadOp("r", e, as.ExpReadFlagDefault) }
	unknown := as.ExpIntBin("missing")
	isOne := as.ExpEq(unknown, as.ExpIntVal(1))
	tests := []struct {
		name string
		op   *as.Operation
		want any
		code resultCode
	}{
		{"int bin of a string", read(as.ExpIntBin("s")), nil, codeOpNotApplicable},
		{"int bin of a string, no fail", as.ExpReadOp("r", as.ExpIntBin("s"), as.ExpReadFlagEvalNoFail), nil, codeOK},
		{"string bin", read(as.ExpStringBin("s")), "str", codeOK},
		{"bin exists", read(as.ExpBinExists("s")), true, codeOK},
		{"bin type", read(as.ExpBinType(stMsgs)), int64(20), codeOK},
		{"cond takes the chosen branch", read(as.ExpCond(as.ExpBinExists("missing"), unknown, as.ExpIntVal(3))), int64(3), codeOK},
		{"cond of an unknown condition", read(as.ExpCond(isOne, as.ExpIntVal(1), as.ExpIntVal(2))), nil, codeOpNotApplicable},
		{"or: unknown and true", read(as.ExpOr(isOne, as.ExpBoolVal(true))), true, codeOK},
		{"or: unknown and false", read(as.ExpOr(isOne, as.ExpBoolVal(false))), nil, codeOpNotApplicable},
		{"and: unknown and false", read(as.ExpAnd(isOne, as.ExpBoolVal(false))), false, codeOK},
		{"not", read(as.ExpNot(as.ExpBoolVal(false))), true, codeOK},
		{"exclusive", read(as.ExpExclusive(as.ExpBoolVal(true), as.ExpBoolVal(true))), false, codeOK},
		{"arithmetic", read(as.ExpNumSub(as.ExpNumAdd(as.ExpIntBin(stSeq), as.ExpIntVal(5)), as.ExpIntVal(1), as.ExpIntVal(2))), int64(12), codeOK},
		{"negation", read(as.ExpNumSub(as.ExpIntVal(4))), int64(-4), codeOK},
		{"min max", read(as.ExpMax(as.ExpIntVal(-2), as.ExpMin(as.ExpIntVal(9), as.ExpIntVal(4)))), int64(4), codeOK},
		{"division by zero", read(as.ExpNumDiv(as.ExpIntVal(1), as.ExpIntVal(0))), nil, codeOpNotApplicable},
		{"wrap around", read(as.ExpNumAdd(as.ExpIntVal(math.MaxInt64), as.ExpIntVal(1))), int64(math.MinInt64), codeOK},
		{"floats", read(as.ExpNumMul(as.ExpFloatVal(1.5), as.ExpFloatVal(2))), 3.0, codeOK},
		{"mod", read(as.ExpNumMod(as.ExpIntVal(7), as.ExpIntVal(3))), int64(1), codeOK},
		{"shift", read(as.ExpIntLShift(as.ExpIntVal(1), as.ExpIntVal(65))), int64(2), codeOK},
		{"lscan", read(as.ExpIntLScan(as.ExpIntVal(1), as.ExpBoolVal(true))), int64(63), codeOK},
		{"let", read(as.ExpLet(as.ExpDef("x", as.ExpIntVal(2)), as.ExpNumMul(as.ExpVar("x"), as.ExpVar("x")))), int64(4), codeOK},
		{"empty list", read(as.ExpListVal()), []any{}, codeOK},
		{"list equality", read(as.ExpEq(as.ExpListBin(stMsgs), as.ExpListValueVal([]byte("m7")))), true, codeOK},
		{"list size", read(as.ExpListSize(as.ExpListBin(stMsgs))), int64(1), codeOK},
		{"list get by index", read(as.ExpListGetByIndex(as.ListReturnTypeValue, as.ExpTypeBLOB, as.ExpIntVal(0), as.ExpListBin(stMsgs))),
			[]byte("m7"), codeOK},
		{"list get out of range", read(as.ExpListGetByIndex(as.ListReturnTypeValue, as.ExpTypeBLOB, as.ExpIntVal(3), as.ExpListBin(stMsgs))),
			nil, codeOpNotApplicable},
		{"local list append", read(as.ExpListSize(as.ExpListAppend(as.DefaultListPolicy(), as.ExpIntVal(1), as.ExpListBin(stMsgs)))),
			int64(2), codeOK},
		{"map get by key", read(as.ExpMapGetByKey(as.MapReturnType.VALUE, as.ExpTypeINT, as.ExpIntVal(3), as.ExpMapBin(stOut))),
			int64(1), codeOK},
		{"map size of a list", read(as.ExpMapSize(as.ExpListBin(stMsgs))), nil, codeOpNotApplicable},
		{"mismatched comparison", read(as.ExpEq(as.ExpIntVal(1), as.ExpStringVal("1"))), nil, codeParameter},
		{"mixed arithmetic", read(as.ExpNumAdd(as.ExpIntVal(1), as.ExpFloatVal(1))), nil, codeParameter},
		{"cond of mixed types", read(as.ExpCond(as.ExpBoolVal(true), as.ExpIntVal(1), as.ExpStringVal("x"))), nil, codeParameter},
		{"unknown var", read(as.ExpVar("x")), nil, codeParameter},
		{"regex", read(as.ExpRegexCompare("a", as.ExpRegexFlagNONE, as.ExpStringBin("s"))), nil, codeUnsupportedFeature},
		{"metadata", read(as.ExpKeyExists()), nil, codeUnsupportedFeature},
		{"rank in a call", read(as.ExpListGetByRank(as.ListReturnTypeValue, as.ExpTypeBLOB, as.ExpIntVal(0), as.ExpListBin(stMsgs))),
			nil, codeUnsupportedFeature},
		{"write flags on a read", as.ExpReadOp("r", as.ExpIntVal(1), as.ExpReadFlags(as.ExpWriteFlagCreateOnly)), nil, codeParameter},
	}
	for _, tt := range tests {
		bins := map[string]any{"s": "str", stSeq: int64(10), stMsgs: blobs("m7"), stOut: kmap(3, 1)}
		got, code := applyOp(t, bins, "r", tt.op)
		if code != tt.code || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %#v, code %d; want %#v, code %d", tt.name, got, code, tt.want, tt.code)
		}
	}
}

func TestExpressionWriteNil(t *testing.T) {
	tests := []struct {
		name  string
		flags as.ExpWriteFlags
		code  resultCode
		kept  bool
	}{
		{"no flags", as.ExpWriteFlagDefault, codeOpNotApplicable, true},
		{"allow delete", as.ExpWriteFlagAllowDelete, codeOK, false},
		{"any other flag keeps the bin", as.ExpWriteFlagEvalNoFail, codeOK, true},
	}
	for _, tt := range tests {
		bins := map[string]any{"b": int64(1)}
		_, code := applyOp(t, bins, "b", as.ExpWriteOp("b", as.ExpNilValue(), tt.flags))
		if _, kept := bins["b"]; code != tt.code || kept != tt.kept {
			t.Errorf("%s: code %d, bin kept %v; want %d, %v", tt.name, code, kept, tt.code, tt.kept)
		}
	}
}

func TestExpressionMalformed(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"not an array", []byte{0x01}},
		{"empty array", []byte{0x90}},
		{"three elements", []byte{0x93, 0x01, 0x00, 0x00}},
		{"negative flags", []byte{0x92, 0x01, 0xff}},
		{"trailing bytes", []byte{0x92, 0x01, 0x00, 0x00}},
		{"empty expression list", []byte{0x91, 0x90}},
		{"unknown op", []byte{0x91, 0x91, 0x09}},
		{"bin name too long", append([]byte{0x91, 0x93, 0x51, 0x02, 0xb0}, "0123456789abcdef"...)},
		{"compare arity", []byte{0x91, 0x92, 0x01, 0x01}},
		{"truncated", []byte{0x91, 0x92, 0x01}},
	}
	for _, tt := range tests {
		if _, code := expOp(map[string]any{}, "r", false, tt.payload); code != codeParameter {
			t.Errorf("%s: code %d, want %d", tt.name, code, codeParameter)
		}
	}
}

func FuzzExpOp(f *testing.F) {
	var seeds []*as.Operation
	seeds = append(seeds, storeReadOps(7, 8, 3)...)
	seeds = append(seeds, storeAdvanceOps(stSent, 9)...)
	seeds = append(seeds,
		as.ExpWriteOp(stEpoch, as.ExpIntVal(3), as.ExpWriteFlagCreateOnly|as.ExpWriteFlagPolicyNoFail),
		as.ExpReadOp("r", as.ExpLet(as.ExpDef("x", as.ExpIntBin(stSeq)), as.ExpVar("x")), as.ExpReadFlagDefault),
		as.ExpReadOp("r", as.ExpMapGetByKey(as.MapReturnType.VALUE, as.ExpTypeINT, as.ExpIntVal(3), as.ExpMapBin(stOut)), as.ExpReadFlagDefault),
	)
	for _, op := range seeds {
		_, payload := clientOp(f, op)
		f.Add(payload, true)
		f.Add(payload, false)
	}
	f.Fuzz(func(t *testing.T, payload []byte, modify bool) {
		for _, record := range []func() map[string]any{streamRecord, outcomesOnly} {
			bins := record()
			got, code := expOp(bins, "b", modify, payload)
			if !isModelValue(got) || !isModelValue(bins["b"]) {
				t.Fatalf("expOp(% x) = %#v (code %d), bin %#v: not model values", payload, got, code, bins["b"])
			}
			if code != codeOK && !reflect.DeepEqual(bins, record()) {
				t.Fatalf("expOp(% x) failed with %d but changed the record to %#v", payload, code, bins)
			}
		}
	})
}
