package aerofake

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"testing"
	"unsafe"

	as "github.com/aerospike/aerospike-client-go/v7"
)

// Operation types of the wire protocol (operation.go).
const (
	opTypeCDTRead   = 3
	opTypeCDTModify = 4
	opTypeExpRead   = 7
	opTypeExpModify = 8
)

// encodingIter is a list that packs an operation when the client packs
// it: the client packs a ListIter by calling its PackList with the
// client's own buffer (or nil, to size it).
type encodingIter struct {
	op  *as.Operation
	enc func(*as.Operation, as.BufferEx) (int, as.Error)
}

// Len implements as.ListIter: the list's header says no elements, the
// operation's bytes follow it.
func (it encodingIter) Len() int { return 0 }

// PackList implements as.ListIter.
func (it encodingIter) PackList(buf as.BufferEx) (int, error) {
	n, err := it.enc(it.op, buf)
	if err != nil {
		return n, err
	}
	return n, nil
}

// unexportedField returns a usable copy of an unexported field of an
// addressable struct.
func unexportedField(v reflect.Value, name string) reflect.Value {
	f := v.FieldByName(name)
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// clientOp returns the operation type and the value bytes that the client
// writes on the wire for op. The client has no exported path to them, so
// this reads the Operation's unexported fields: the value of an
// expression operation is its binValue (a BytesValue); a CDT operation is
// written by its encoder, which this runs on the client's own buffer by
// packing an encodingIter in a quoted list (ExpListValueVal(...).Base64)
// and cutting the quote's header. The bytes are exactly those
// writeOperationForOperation writes after the operation header.
func clientOp(t testing.TB, op *as.Operation) (byte, []byte) {
	t.Helper()
	v := reflect.ValueOf(op).Elem()
	opType := byte(v.FieldByName("opType").FieldByName("op").Uint())
	if v.FieldByName("encoder").IsNil() {
		value, ok := unexportedField(v, "binValue").Interface().(as.Value)
		payload, isBytes := value.GetObject().([]byte)
		if !ok || !isBytes {
			t.Fatalf("operation type %d: value %#v is not bytes", opType, value)
		}
		return opType, payload
	}
	enc, ok := unexportedField(v, "encoder").Interface().(func(*as.Operation, as.BufferEx) (int, as.Error))
	if !ok {
		t.Fatal("operation encoder has an unexpected type")
	}
	s, err := as.ExpListValueVal(encodingIter{op: op, enc: enc}).Base64()
	if err != nil {
		t.Fatalf("pack operation: %v", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(s)
	prefix := []byte{0x92, 0x7e, 0x91, 0x90} // [126, [[]...
	if !bytes.HasPrefix(raw, prefix) {
		t.Fatalf("packed operation % x: unexpected header", raw)
	}
	return opType, raw[len(prefix):]
}

// applyOp applies a client operation to bins as the server's operate
// applies it to a bin, and returns its result and code.
func applyOp(t testing.TB, bins map[string]any, name string, op *as.Operation) (any, resultCode) {
	t.Helper()
	opType, payload := clientOp(t, op)
	switch opType {
	case opTypeCDTRead, opTypeCDTModify:
		return cdtOp(bins, name, opType == opTypeCDTModify, 4, payload)
	case opTypeExpRead, opTypeExpModify:
		return expOp(bins, name, opType == opTypeExpModify, payload)
	}
	t.Fatalf("operation type %d is not a CDT or expression operation", opType)
	return nil, codeServerError
}

// opStep is one operation on a record and what it should do.
type opStep struct {
	op   *as.Operation
	want any        // the result
	code resultCode // the result code
	bin  any        // the bin afterwards (absent: nil)
}

// runSteps applies steps in order to bin name of bins.
func runSteps(t *testing.T, bins map[string]any, name string, steps []opStep) {
	t.Helper()
	for i, s := range steps {
		got, code := applyOp(t, bins, name, s.op)
		if code != s.code || !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: result %#v, code %d; want %#v, code %d", i, got, code, s.want, s.code)
		}
		if !reflect.DeepEqual(bins[name], s.bin) {
			t.Errorf("step %d: bin %#v, want %#v", i, bins[name], s.bin)
		}
	}
}

// blobs returns the messages as blobs, as the store appends them.
func blobs(msgs ...string) []any {
	out := make([]any, len(msgs))
	for i, m := range msgs {
		out[i] = []byte(m)
	}
	return out
}

// trim keeps the newest keep messages, as the store's appendOps does.
func trim(keep int) *as.Operation {
	return as.ListRemoveByIndexRangeCountOp("msgs", -keep, keep, as.ListReturnTypeNone|as.ListReturnTypeInverted)
}

func TestListAppendAndTrim(t *testing.T) {
	bins := map[string]any{}
	runSteps(t, bins, "msgs", []opStep{
		{op: trim(2), bin: nil},                // no bin: no-op
		{op: as.ListSizeOp("msgs"), want: nil}, // no bin: nil
		{op: as.ListAppendOp("msgs", blobs("a")...), // one value: APPEND
			want: int64(1), bin: blobs("a")},
		{op: as.ListAppendOp("msgs", blobs("b", "c")...), // several: APPEND_ITEMS
			want: int64(3), bin: blobs("a", "b", "c")},
		{op: trim(5), bin: blobs("a", "b", "c")}, // range wider than the list: nothing outside
		{op: trim(2), bin: blobs("b", "c")},
		{op: as.ListAppendOp("msgs", blobs("d", "e", "f")...), want: int64(5), bin: blobs("b", "c", "d", "e", "f")},
		{op: trim(3), bin: blobs("d", "e", "f")},
		{op: as.ListSizeOp("msgs"), want: int64(3), bin: blobs("d", "e", "f")},
		{op: trim(0), bin: []any{}}, // an empty range inverted is everything
		{op: as.ListAppendOp("msgs"), want: int64(0), bin: []any{}},
	})
}

func TestListIndexRanges(t *testing.T) {
	list := func() []any { return []any{"a", "b", "c", "d", "e"} }
	runCDTCases(t, "l", func() any { return list() }, []cdtCase{
		{"negative index past the start, range short of it", as.ListRemoveByIndexRangeCountOp("l", -10, 3, as.ListReturnTypeNone|as.ListReturnTypeInverted),
			nil, codeOK, []any{}},
		{"negative index past the start, range reaching in", as.ListRemoveByIndexRangeCountOp("l", -7, 4, as.ListReturnTypeValue|as.ListReturnTypeInverted),
			[]any{"c", "d", "e"}, codeOK, []any{"a", "b"}},
		{"index past the end", as.ListRemoveByIndexRangeCountOp("l", 9, 2, as.ListReturnTypeCount),
			int64(0), codeOK, list()},
		{"middle, inverted", as.ListRemoveByIndexRangeCountOp("l", 1, 2, as.ListReturnTypeIndex|as.ListReturnTypeInverted),
			[]any{int64(0), int64(3), int64(4)}, codeOK, []any{"b", "c"}},
		{"tail, reverse indexes", as.ListRemoveByIndexRangeCountOp("l", -2, 2, as.ListReturnTypeReverseIndex),
			[]any{int64(0), int64(1)}, codeOK, []any{"a", "b", "c"}},
		{"get range values", as.ListGetByIndexRangeCountOp("l", 1, 2, as.ListReturnTypeValue),
			[]any{"b", "c"}, codeOK, list()},
		{"get range to the end", as.ListGetByIndexRangeOp("l", -2, as.ListReturnTypeValue),
			[]any{"d", "e"}, codeOK, list()},
		{"get range exists", as.ListGetByIndexRangeCountOp("l", 7, 1, as.ListReturnTypeExists),
			false, codeOK, list()},
		{"get by index", as.ListGetByIndexOp("l", -1, as.ListReturnTypeValue),
			"e", codeOK, list()},
		{"get by index out of range", as.ListGetByIndexOp("l", 5, as.ListReturnTypeValue),
			nil, codeOpNotApplicable, list()},
		{"inverted single", as.ListGetByIndexOp("l", 1, as.ListReturnTypeValue|as.ListReturnTypeInverted),
			nil, codeOpNotApplicable, list()},
		{"remove by index", as.ListRemoveByIndexOp("l", 0, as.ListReturnTypeIndex),
			int64(0), codeOK, []any{"b", "c", "d", "e"}},
		{"pop", as.ListPopOp("l", 1), "b", codeOK, []any{"a", "c", "d", "e"}},
		{"pop range", as.ListPopRangeOp("l", 3, 5), []any{"d", "e"}, codeOK, []any{"a", "b", "c"}},
		{"remove range", as.ListRemoveRangeOp("l", 0, 2), int64(2), codeOK, []any{"c", "d", "e"}},
		{"trim", as.ListTrimOp("l", 1, 3), int64(2), codeOK, []any{"b", "c", "d"}},
		{"get", as.ListGetOp("l", 2), "c", codeOK, list()},
		{"get range", as.ListGetRangeOp("l", 4, 9), []any{"e"}, codeOK, list()},
		{"clear", as.ListClearOp("l"), nil, codeOK, []any{}},
		{"rank return type", as.ListGetByIndexOp("l", 0, as.ListReturnTypeRank), nil, codeUnsupportedFeature, list()},
	})
}

func TestListByValue(t *testing.T) {
	list := func() []any { return []any{int64(1), "x", int64(1), []byte("x")} }
	tests := []struct {
		name  string
		op    *as.Operation
		want  any
		after []any
	}{
		{"get all by value", as.ListGetByValueOp("l", 1, as.ListReturnTypeIndex),
			[]any{int64(0), int64(2)}, list()},
		{"get by value, none", as.ListGetByValueOp("l", 2, as.ListReturnTypeCount), int64(0), list()},
		{"string and blob differ", as.ListGetByValueOp("l", "x", as.ListReturnTypeIndex), []any{int64(1)}, list()},
		{"remove by value list", as.ListRemoveByValueListOp("l", []any{1, []byte("x")}, as.ListReturnTypeValue),
			[]any{int64(1), int64(1), []byte("x")}, []any{"x"}},
		{"remove all but a value", as.ListRemoveByValueOp("l", 1, as.ListReturnTypeCount|as.ListReturnTypeInverted),
			int64(2), []any{int64(1), int64(1)}},
	}
	for _, tt := range tests {
		bins := map[string]any{"l": list()}
		got, code := applyOp(t, bins, "l", tt.op)
		if code != codeOK || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: result %#v, code %d; want %#v", tt.name, got, code, tt.want)
		}
		if !reflect.DeepEqual(bins["l"], tt.after) {
			t.Errorf("%s: list %#v, want %#v", tt.name, bins["l"], tt.after)
		}
	}
}

// outcomePut puts an outcome as the store's outcomeOps does.
func outcomePut(seq int64, outcome int, flags int) *as.Operation {
	return as.MapPutOp(as.NewMapPolicyWithFlags(as.MapOrder.KEY_ORDERED, flags), "out", seq, outcome)
}

// keepNewest keeps the entries of the highest keep keys.
func keepNewest(keep int) *as.Operation {
	return as.MapRemoveByIndexRangeCountOp("out", -keep, keep, as.MapReturnType.NONE|as.MapReturnType.INVERTED)
}

// kmap returns a key-ordered map of integer pairs k1, v1, k2, v2 ...
func kmap(kv ...int64) *Map {
	m := &Map{Order: 1, Entries: []MapEntry{}}
	for i := 0; i < len(kv); i += 2 {
		m.Entries = append(m.Entries, MapEntry{Key: kv[i], Value: kv[i+1]})
	}
	return m
}

func TestMapOutcomes(t *testing.T) {
	createOnly := as.MapWriteFlagsCreateOnly | as.MapWriteFlagsNoFail
	bins := map[string]any{}
	runSteps(t, bins, "out", []opStep{
		{op: as.MapGetByKeyOp("out", int64(5), as.MapReturnType.VALUE), want: nil}, // no bin
		{op: outcomePut(5, 1, createOnly), want: int64(1), bin: kmap(5, 1)},
		{op: as.MapGetByKeyOp("out", int64(5), as.MapReturnType.VALUE), want: int64(1), bin: kmap(5, 1)},
		{op: as.MapGetByKeyOp("out", int64(6), as.MapReturnType.VALUE), want: nil, bin: kmap(5, 1)},
		{op: outcomePut(5, 2, createOnly), want: int64(1), bin: kmap(5, 1)}, // exists: quietly refused
		{op: outcomePut(5, 2, as.MapWriteFlagsCreateOnly), code: codeFailElementExists, bin: kmap(5, 1)},
		{op: outcomePut(5, 3, as.MapWriteFlagsDefault), want: int64(1), bin: kmap(5, 3)},
		{op: outcomePut(2, 1, createOnly), want: int64(2), bin: kmap(2, 1, 5, 3)}, // kept in key order
		{op: outcomePut(9, 1, createOnly), want: int64(3), bin: kmap(2, 1, 5, 3, 9, 1)},
		{op: outcomePut(7, 1, createOnly), want: int64(4), bin: kmap(2, 1, 5, 3, 7, 1, 9, 1)},
		{op: keepNewest(3), bin: kmap(5, 3, 7, 1, 9, 1)}, // the lowest key goes
		{op: keepNewest(5), bin: kmap(5, 3, 7, 1, 9, 1)},
		{op: keepNewest(1), bin: kmap(9, 1)},
		{op: as.MapSizeOp("out"), want: int64(1), bin: kmap(9, 1)},
		{op: as.MapPutOp(as.NewMapPolicyWithFlags(as.MapOrder.KEY_ORDERED, as.MapWriteFlagsUpdateOnly), "out", 4, 1),
			code: codeFailElementNotFound, bin: kmap(9, 1)},
	})
}

func TestMapAliasIndex(t *testing.T) {
	bins := map[string]any{}
	ids := func(kv ...any) *Map {
		m := &Map{Entries: []MapEntry{}}
		for i := 0; i < len(kv); i += 2 {
			m.Entries = append(m.Entries, MapEntry{Key: kv[i], Value: kv[i+1]})
		}
		return m
	}
	runSteps(t, bins, "ids", []opStep{
		{op: as.MapRemoveByValueOp("ids", int64(7), as.MapReturnType.NONE)}, // no bin: no-op
		{op: as.MapSizeOp("ids")},
		{op: as.MapPutOp(as.DefaultMapPolicy(), "ids", "dev-b", int64(7)), want: int64(1), bin: ids("dev-b", int64(7))},
		{op: as.MapPutOp(as.DefaultMapPolicy(), "ids", "dev-a", int64(8)), want: int64(2),
			bin: ids("dev-b", int64(7), "dev-a", int64(8))}, // unordered: insertion order
		{op: as.MapPutOp(as.DefaultMapPolicy(), "ids", "dev-c", int64(7)), want: int64(3),
			bin: ids("dev-b", int64(7), "dev-a", int64(8), "dev-c", int64(7))},
		{op: as.MapRemoveByValueOp("ids", int64(7), as.MapReturnType.NONE), bin: ids("dev-a", int64(8))},
		{op: as.MapSizeOp("ids"), want: int64(1), bin: ids("dev-a", int64(8))},
		{op: as.MapRemoveByValueOp("ids", int64(8), as.MapReturnType.KEY), want: []any{"dev-a"}, bin: ids()},
		{op: as.MapSizeOp("ids"), want: int64(0), bin: ids()},
	})
}

func TestMapSelections(t *testing.T) {
	// An unordered map: indexes count in key order all the same.
	unordered := func() *Map {
		return &Map{Entries: []MapEntry{{"c", int64(3)}, {"a", int64(1)}, {"b", int64(1)}}}
	}
	runCDTCases(t, "m", func() any { return unordered() }, []cdtCase{
		{"get by index", as.MapGetByIndexOp("m", 0, as.MapReturnType.KEY), "a", codeOK, unordered()},
		{"get by index range, key-value", as.MapGetByIndexRangeCountOp("m", 1, 5, as.MapReturnType.KEY_VALUE),
			&Map{Entries: []MapEntry{{"b", int64(1)}, {"c", int64(3)}}}, codeOK, unordered()},
		{"ordered map result", as.MapGetByIndexRangeOp("m", -1, as.MapReturnType.ORDERED_MAP),
			&Map{Order: 1, Entries: []MapEntry{{"c", int64(3)}}}, codeOK, unordered()},
		{"get by value, indexes", as.MapGetByValueOp("m", 1, as.MapReturnType.INDEX),
			[]any{int64(0), int64(1)}, codeOK, unordered()},
		{"get by key list, values", as.MapGetByKeyListOp("m", []any{"c", "z", "a"}, as.MapReturnType.VALUE),
			[]any{int64(1), int64(3)}, codeOK, unordered()},
		{"get by key, count", as.MapGetByKeyOp("m", "z", as.MapReturnType.COUNT), int64(0), codeOK, unordered()},
		{"get by key, exists", as.MapGetByKeyOp("m", "a", as.MapReturnType.EXISTS), true, codeOK, unordered()},
		{"get by key, index", as.MapGetByKeyOp("m", "c", as.MapReturnType.REVERSE_INDEX), int64(0), codeOK, unordered()},
		{"remove by key", as.MapRemoveByKeyOp("m", "a", as.MapReturnType.VALUE), int64(1), codeOK,
			&Map{Entries: []MapEntry{{"c", int64(3)}, {"b", int64(1)}}}},
		{"remove by index range inverted", as.MapRemoveByIndexRangeCountOp("m", 0, 1, as.MapReturnType.KEY|as.MapReturnType.INVERTED),
			[]any{"b", "c"}, codeOK, &Map{Entries: []MapEntry{{"a", int64(1)}}}},
		{"remove by value list", as.MapRemoveByValueListOp("m", []any{3}, as.MapReturnType.COUNT), int64(1), codeOK,
			&Map{Entries: []MapEntry{{"a", int64(1)}, {"b", int64(1)}}}},
		{"remove by key list", as.MapRemoveByKeyListOp("m", []any{"b", "c"}, as.MapReturnType.NONE), nil, codeOK,
			&Map{Entries: []MapEntry{{"a", int64(1)}}}},
		{"get by index out of range", as.MapGetByIndexOp("m", 3, as.MapReturnType.KEY), nil, codeOpNotApplicable, unordered()},
		{"rank", as.MapGetByRankOp("m", 0, as.MapReturnType.KEY), nil, codeUnsupportedFeature, unordered()},
		{"increment", as.MapIncrementOp(as.DefaultMapPolicy(), "m", "a", 1), nil, codeUnsupportedFeature, unordered()},
		{"clear", as.MapClearOp("m"), nil, codeOK, &Map{Entries: []MapEntry{}}},
		{"set key order", as.MapSetPolicyOp(as.NewMapPolicy(as.MapOrder.KEY_ORDERED, as.MapWriteMode.UPDATE), "m"), nil, codeOK,
			&Map{Order: 1, Entries: []MapEntry{{"a", int64(1)}, {"b", int64(1)}, {"c", int64(3)}}}},
		{"add existing", as.MapPutOp(as.NewMapPolicy(as.MapOrder.UNORDERED, as.MapWriteMode.CREATE_ONLY), "m", "a", 2),
			nil, codeFailElementExists, unordered()},
		{"replace", as.MapPutOp(as.NewMapPolicy(as.MapOrder.UNORDERED, as.MapWriteMode.UPDATE_ONLY), "m", "a", 2),
			int64(3), codeOK, &Map{Entries: []MapEntry{{"c", int64(3)}, {"a", int64(2)}, {"b", int64(1)}}}},
		{"put items, partial", as.MapPutItemsOp(as.NewMapPolicyWithFlags(as.MapOrder.UNORDERED,
			as.MapWriteFlagsCreateOnly|as.MapWriteFlagsNoFail|as.MapWriteFlagsPartial), "m", map[any]any{"a": 5, "d": 4}),
			int64(4), codeOK, &Map{Entries: []MapEntry{{"c", int64(3)}, {"a", int64(1)}, {"b", int64(1)}, {"d", int64(4)}}}},
		{"put items, no fail", as.MapPutItemsOp(as.NewMapPolicyWithFlags(as.MapOrder.UNORDERED,
			as.MapWriteFlagsCreateOnly|as.MapWriteFlagsNoFail), "m", map[any]any{"a": 5, "d": 4}),
			int64(3), codeOK, unordered()},
		{"list key", as.MapPutOp(as.DefaultMapPolicy(), "m", []any{1}, 2), nil, codeParameter, unordered()},
	})
}

func TestCDTRefusals(t *testing.T) {
	ordered := as.NewListPolicy(as.ListOrderOrdered, as.ListWriteFlagsDefault)
	tests := []struct {
		name string
		bins map[string]any
		op   *as.Operation
		code resultCode
	}{
		{"list op on an integer", map[string]any{"b": int64(1)}, as.ListAppendOp("b", 1), codeBinType},
		{"list read on a string", map[string]any{"b": "s"}, as.ListSizeOp("b"), codeBinType},
		{"map op on a list", map[string]any{"b": []any{}}, as.MapSizeOp("b"), codeBinType},
		{"list op on a map", map[string]any{"b": &Map{Entries: []MapEntry{}}}, as.ListGetOp("b", 0), codeBinType},
		{"ordered list", map[string]any{}, as.ListAppendWithPolicyOp(ordered, "b", 1), codeUnsupportedFeature},
		{"insert", map[string]any{"b": []any{}}, as.ListInsertOp("b", 0, 1), codeUnsupportedFeature},
		{"context", map[string]any{"b": []any{[]any{}}},
			as.ListAppendWithPolicyContextOp(as.DefaultListPolicy(), "b", []*as.CDTContext{as.CtxListIndex(0)}, 1),
			codeUnsupportedFeature},
		{"map return type on a list", map[string]any{"b": []any{int64(1)}},
			as.ListGetByIndexOp("b", 0, as.ListReturnType(as.MapReturnType.KEY)), codeOpNotApplicable},
	}
	for _, tt := range tests {
		before := snapshotValue(tt.bins["b"])
		if _, code := applyOp(t, tt.bins, "b", tt.op); code != tt.code {
			t.Errorf("%s: code %d, want %d", tt.name, code, tt.code)
		}
		if !reflect.DeepEqual(tt.bins["b"], before) {
			t.Errorf("%s: bin changed to %#v", tt.name, tt.bins["b"])
		}
	}
}

func TestCDTMalformed(t *testing.T) {
	tests := []struct {
		name    string
		modify  bool
		payload []byte
		code    resultCode
	}{
		{"empty", false, nil, codeParameter},
		{"short op code", false, []byte{0x00}, codeParameter},
		{"unknown op", false, []byte{0x00, 0x0e}, codeParameter},
		{"read op as modify", true, []byte{0x00, listSize}, codeParameter},
		{"modify op as read", false, []byte{0x00, listClear}, codeParameter},
		{"too many params", false, []byte{0x00, listSize, 0x91, 0x01}, codeParameter},
		{"trailing bytes", true, []byte{0x00, listAppend, 0x91, 0x01, 0x02}, codeParameter},
		{"params not a list", true, []byte{0x00, listAppend, 0x01}, codeParameter},
		{"index not an integer", false, []byte{0x00, listGet, 0x91, 0xa2, 0x03, 'x'}, codeParameter},
		{"negative count", false, []byte{0x00, listGetRange, 0x92, 0x00, 0xff}, codeParameter},
		{"array form", false, []byte{0x92, listGet, 0x00}, codeOK},
		{"array form, context", false, []byte{0x93, 0xcc, 0xff, 0x90, 0x91, 0x10}, codeUnsupportedFeature},
	}
	for _, tt := range tests {
		bins := map[string]any{"l": []any{int64(1)}}
		if _, code := cdtOp(bins, "l", tt.modify, 4, tt.payload); code != tt.code {
			t.Errorf("%s: code %d, want %d", tt.name, code, tt.code)
		}
	}
}

// cdtSeedOps are client operations that seed the CDT fuzz test.
func cdtSeedOps() []*as.Operation {
	return []*as.Operation{
		as.ListAppendOp("b", []byte("x"), []byte("y")),
		trim(3),
		as.ListSizeOp("b"),
		as.ListGetByValueListOp("b", []any{1, "x"}, as.ListReturnTypeIndex),
		as.MapPutOp(as.NewMapPolicyWithFlags(as.MapOrder.KEY_ORDERED, as.MapWriteFlagsCreateOnly|as.MapWriteFlagsNoFail), "b", 1, 2),
		as.MapPutItemsOp(as.DefaultMapPolicy(), "b", map[any]any{"a": 1}),
		as.MapGetByKeyOp("b", 1, as.MapReturnType.VALUE),
		as.MapRemoveByValueOp("b", 7, as.MapReturnType.NONE),
		as.MapRemoveByIndexRangeCountOp("b", -2, 2, as.MapReturnType.NONE|as.MapReturnType.INVERTED),
		as.MapGetByIndexRangeOp("b", 0, as.MapReturnType.KEY_VALUE),
	}
}

func FuzzCdtOp(f *testing.F) {
	for _, op := range cdtSeedOps() {
		_, payload := clientOp(f, op)
		f.Add(payload, true)
		f.Add(payload, false)
	}
	f.Fuzz(func(t *testing.T, payload []byte, modify bool) {
		for _, bin := range []any{nil, []any{int64(1), "x", []byte("x")}, kmap(1, 2, 3, 4),
			&Map{Entries: []MapEntry{{"b", int64(1)}, {"a", int64(2)}}}, int64(5)} {
			bins := map[string]any{}
			if bin != nil {
				bins["b"] = snapshotValue(bin)
			}
			got, code := cdtOp(bins, "b", modify, 4, payload)
			if !isModelValue(got) || !isModelValue(bins["b"]) {
				t.Fatalf("cdtOp(% x) = %#v (code %d), bin %#v: not model values", payload, got, code, bins["b"])
			}
			if code != codeOK && !reflect.DeepEqual(bins["b"], bin) {
				t.Fatalf("cdtOp(% x) failed with %d but changed the bin to %#v", payload, code, bins["b"])
			}
		}
	})
}

// cdtCase is one operation on a fresh bin: its result, its code and the
// bin after it.
type cdtCase struct {
	name  string
	op    *as.Operation
	want  any
	code  resultCode
	after any
}

// runCDTCases runs each case on bin holding a fresh value, and checks that
// the operation did not change the stored value in place.
func runCDTCases(t *testing.T, bin string, fresh func() any, cases []cdtCase) {
	t.Helper()
	for _, tt := range cases {
		orig := fresh()
		bins := map[string]any{bin: orig}
		got, code := applyOp(t, bins, bin, tt.op)
		if code != tt.code || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: result %#v, code %d; want %#v, code %d", tt.name, got, code, tt.want, tt.code)
		}
		if !reflect.DeepEqual(bins[bin], tt.after) {
			t.Errorf("%s: bin %#v, want %#v", tt.name, bins[bin], tt.after)
		}
		if !reflect.DeepEqual(orig, fresh()) {
			t.Errorf("%s: the stored value changed in place: %#v", tt.name, orig)
		}
	}
}
