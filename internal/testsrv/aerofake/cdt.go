package aerofake

import (
	"encoding/binary"
	"errors"
	"slices"
)

// List operation codes (the client's cdt_list.go, the server's as_cdt_optype).
const (
	listSetType                   = 0
	listAppend                    = 1
	listAppendItems               = 2
	listInsert                    = 3
	listInsertItems               = 4
	listPop                       = 5
	listPopRange                  = 6
	listRemove                    = 7
	listRemoveRange               = 8
	listSet                       = 9
	listTrim                      = 10
	listClear                     = 11
	listIncrement                 = 12
	listSort                      = 13
	listSize                      = 16
	listGet                       = 17
	listGetRange                  = 18
	listGetByIndex                = 19
	listGetByValue                = 20
	listGetByRank                 = 21
	listGetAllByValue             = 22
	listGetAllByValueList         = 23
	listGetByIndexRange           = 24
	listGetByValueInterval        = 25
	listGetByRankRange            = 26
	listGetByValueRelRankRange    = 27
	listRemoveByIndex             = 32
	listRemoveByValue             = 33
	listRemoveByRank              = 34
	listRemoveAllByValue          = 35
	listRemoveAllByValueList      = 36
	listRemoveByIndexRange        = 37
	listRemoveByValueInterval     = 38
	listRemoveByRankRange         = 39
	listRemoveByValueRelRankRange = 40
)

// Map operation codes (the client's cdt_map.go, the server's as_cdt_optype).
const (
	mapSetType                   = 64
	mapAdd                       = 65
	mapAddItems                  = 66
	mapPut                       = 67
	mapPutItems                  = 68
	mapReplace                   = 69
	mapReplaceItems              = 70
	mapIncrement                 = 73
	mapDecrement                 = 74
	mapClear                     = 75
	mapRemoveByKey               = 76
	mapRemoveByIndex             = 77
	mapRemoveByValue             = 78
	mapRemoveByRank              = 79
	mapRemoveByKeyList           = 81
	mapRemoveAllByValue          = 82
	mapRemoveByValueList         = 83
	mapRemoveByKeyInterval       = 84
	mapRemoveByIndexRange        = 85
	mapRemoveByValueInterval     = 86
	mapRemoveByRankRange         = 87
	mapRemoveByKeyRelIndexRange  = 88
	mapRemoveByValueRelRankRange = 89
	mapSize                      = 96
	mapGetByKey                  = 97
	mapGetByIndex                = 98
	mapGetByValue                = 99
	mapGetByRank                 = 100
	mapGetAllByValue             = 102
	mapGetByKeyInterval          = 103
	mapGetByIndexRange           = 104
	mapGetByValueInterval        = 105
	mapGetByRankRange            = 106
	mapGetByKeyList              = 107
	mapGetByValueList            = 108
	mapGetByKeyRelIndexRange     = 109
	mapGetByValueRelRankRange    = 110
)

// cdtContextEval is the operation code of an operation with a context
// (nested list or map): [0xff, context, [op, params...]].
const cdtContextEval = 0xff

// Return types of the selecting operations (ListReturnType,
// MapReturnType), and the INVERTED flag.
const (
	rtNone         = 0
	rtIndex        = 1
	rtRevIndex     = 2
	rtRank         = 3
	rtRevRank      = 4
	rtCount        = 5
	rtKey          = 6
	rtValue        = 7
	rtKeyValue     = 8
	rtExists       = 13
	rtUnorderedMap = 16
	rtOrderedMap   = 17
	rtInverted     = 0x10000
)

// Map write flags (MapWriteFlags): the server's NO_OVERWRITE, NO_CREATE,
// NO_FAIL and DO_PARTIAL.
const (
	mapFlagCreateOnly = 1
	mapFlagUpdateOnly = 2
	mapFlagNoFail     = 4
	mapFlagPartial    = 8
)

// cdtSpec describes an operation code.
type cdtSpec struct {
	modify   bool // a CDT_MODIFY operation (else CDT_READ)
	min, max int  // bounds of its parameter count
	creates  bool // on a missing bin it works on an empty list or map
	impl     bool // the fake implements it
}

// cdtSpecOf returns the spec of an operation code the server knows.
func cdtSpecOf(op int) (cdtSpec, bool) {
	if op < mapSetType {
		return listSpecOf(op)
	}
	return mapSpecOf(op)
}

// listSpecOf returns the spec of a list operation code.
func listSpecOf(op int) (cdtSpec, bool) {
	mod := func(lo, hi int) cdtSpec { return cdtSpec{modify: true, min: lo, max: hi, impl: true} }
	read := func(lo, hi int) cdtSpec { return cdtSpec{min: lo, max: hi, impl: true} }
	switch op {
	case listSetType:
		return cdtSpec{modify: true, min: 1, max: 1, creates: true, impl: true}, true
	case listAppend, listAppendItems:
		return cdtSpec{modify: true, min: 1, max: 3, creates: true, impl: true}, true
	case listPop, listRemove:
		return mod(1, 1), true
	case listPopRange, listRemoveRange:
		return mod(1, 2), true
	case listTrim:
		return mod(2, 2), true
	case listClear:
		return mod(0, 0), true
	case listSize:
		return read(0, 0), true
	case listGet:
		return read(1, 1), true
	case listGetRange:
		return read(1, 2), true
	case listGetByIndex, listGetByValue, listGetAllByValue, listGetAllByValueList:
		return read(2, 2), true
	case listGetByIndexRange:
		return read(2, 3), true
	case listRemoveByIndex, listRemoveByValue, listRemoveAllByValue, listRemoveAllByValueList:
		return mod(2, 2), true
	case listRemoveByIndexRange:
		return mod(2, 3), true
	case listInsert, listInsertItems, listSet, listIncrement, listSort,
		listRemoveByRank, listRemoveByValueInterval, listRemoveByRankRange, listRemoveByValueRelRankRange:
		return cdtSpec{modify: true}, true
	case listGetByRank, listGetByValueInterval, listGetByRankRange, listGetByValueRelRankRange:
		return cdtSpec{}, true
	}
	return cdtSpec{}, false
}

// mapSpecOf returns the spec of a map operation code.
func mapSpecOf(op int) (cdtSpec, bool) {
	mod := func(lo, hi int) cdtSpec { return cdtSpec{modify: true, min: lo, max: hi, impl: true} }
	read := func(lo, hi int) cdtSpec { return cdtSpec{min: lo, max: hi, impl: true} }
	switch op {
	case mapSetType:
		return cdtSpec{modify: true, min: 1, max: 1, creates: true, impl: true}, true
	case mapPut: // key, value, order, write flags
		return cdtSpec{modify: true, min: 2, max: 4, creates: true, impl: true}, true
	case mapAdd: // key, value, order
		return cdtSpec{modify: true, min: 2, max: 3, creates: true, impl: true}, true
	case mapReplace: // key, value
		return cdtSpec{modify: true, min: 2, max: 2, creates: true, impl: true}, true
	case mapPutItems: // items, order, write flags
		return cdtSpec{modify: true, min: 1, max: 3, creates: true, impl: true}, true
	case mapAddItems: // items, order
		return cdtSpec{modify: true, min: 1, max: 2, creates: true, impl: true}, true
	case mapReplaceItems: // items
		return cdtSpec{modify: true, min: 1, max: 1, creates: true, impl: true}, true
	case mapClear:
		return mod(0, 0), true
	case mapRemoveByKey, mapRemoveByIndex, mapRemoveByKeyList, mapRemoveAllByValue, mapRemoveByValueList:
		return mod(2, 2), true
	case mapRemoveByIndexRange:
		return mod(2, 3), true
	case mapSize:
		return read(0, 0), true
	case mapGetByKey, mapGetByIndex, mapGetByKeyList, mapGetAllByValue, mapGetByValueList:
		return read(2, 2), true
	case mapGetByIndexRange:
		return read(2, 3), true
	case mapIncrement, mapDecrement, mapRemoveByValue, mapRemoveByRank, mapRemoveByKeyInterval,
		mapRemoveByValueInterval, mapRemoveByRankRange, mapRemoveByKeyRelIndexRange, mapRemoveByValueRelRankRange:
		return cdtSpec{modify: true}, true
	case mapGetByValue, mapGetByRank, mapGetByKeyInterval, mapGetByValueInterval, mapGetByRankRange,
		mapGetByKeyRelIndexRange, mapGetByValueRelRankRange:
		return cdtSpec{}, true
	}
	return cdtSpec{}, false
}

// cdtOutcome is what an operation did: the bin's new value (when set) and
// the operation's result.
type cdtOutcome struct {
	bin    any
	set    bool
	result any
}

// cdtOp applies one list or map operation to bin name of bins. payload is
// the operation's value bytes as the client sent them: the 16-bit
// operation code and a msgpack array of parameters, or a msgpack array
// [op, params...]; an operation with a context (0xff) is refused. The
// particle type is not looked at (the client sends BLOB). modify is true
// for a CDT_MODIFY operation. A read of a missing bin answers nil; a
// modify of a missing bin creates it only for the operations that add
// (set type, append, put …), the others leave it missing and answer nil.
// cdtOp never changes the list or map it finds in bins in place: it
// stores a new one.
func cdtOp(bins map[string]any, name string, modify bool, particleType byte, payload []byte) (any, resultCode) {
	op, args, code := parseCDT(payload)
	if code != codeOK {
		return nil, code
	}
	cur, exists := bins[name]
	out, code := applyCDT(op, args, cur, exists, modify)
	if code != codeOK {
		return nil, code
	}
	if out.set {
		bins[name] = out.bin
	}
	return out.result, codeOK
}

// parseCDT splits the payload of a CDT operation into its operation code
// and decoded parameters.
func parseCDT(payload []byte) (int, []any, resultCode) {
	if len(payload) >= 2 && payload[0] == 0 {
		// The 16-bit operation code, then an optional parameter array.
		op := int(binary.BigEndian.Uint16(payload))
		if len(payload) == 2 {
			return op, nil, codeOK
		}
		n, rest, ok := readArrayHeader(payload[2:])
		if !ok {
			return 0, nil, codeParameter
		}
		args, code := decodeParams(rest, n)
		return op, args, code
	}
	n, rest, ok := readArrayHeader(payload)
	if !ok || n == 0 {
		return 0, nil, codeParameter
	}
	op, rest, ok := readInt(rest)
	if !ok || op < 0 || op > cdtContextEval {
		return 0, nil, codeParameter
	}
	if op == cdtContextEval {
		return 0, nil, codeUnsupportedFeature
	}
	args, code := decodeParams(rest, n-1)
	return int(op), args, code
}

// decodeParams decodes exactly n parameters that make up all of b.
func decodeParams(b []byte, n int) ([]any, resultCode) {
	args := make([]any, 0, min(n, len(b)))
	for range n {
		v, rest, err := unpackValue(b)
		if err != nil {
			return nil, unpackCode(err)
		}
		args, b = append(args, v), rest
	}
	if len(b) != 0 {
		return nil, codeParameter
	}
	return args, codeOK
}

// unpackCode is the result code of a value the fake cannot decode: values
// it does not keep are unsupported, anything else a bad parameter.
func unpackCode(err error) resultCode {
	if errors.Is(err, errUnsupportedValue) || errors.Is(err, errNonStorage) {
		return codeUnsupportedFeature
	}
	return codeParameter
}

// applyCDT applies operation op with decoded parameters to a bin's value
// cur (exists false: no such bin).
func applyCDT(op int, args []any, cur any, exists bool, modify bool) (cdtOutcome, resultCode) {
	spec, known := cdtSpecOf(op)
	switch {
	case !known:
		return cdtOutcome{}, codeParameter
	case !spec.impl:
		return cdtOutcome{}, codeUnsupportedFeature
	case spec.modify != modify || len(args) < spec.min || len(args) > spec.max:
		return cdtOutcome{}, codeParameter
	}
	list, isList := cur.([]any)
	m, isMap := cur.(*Map)
	switch {
	case !exists && !spec.creates:
		return cdtOutcome{}, codeOK // nothing to read or change
	case op < mapSetType && (isList || !exists):
		return runList(op, cdtArgs(args), list)
	case op >= mapSetType && (isMap || !exists):
		if isMap && m == nil {
			m = &Map{}
		}
		return runMap(op, cdtArgs(args), m)
	}
	return cdtOutcome{}, codeBinType
}

// cdtArgs are the decoded parameters of an operation.
type cdtArgs []any

// int returns parameter i, which must be an integer.
func (a cdtArgs) int(i int) (int64, bool) {
	if i >= len(a) {
		return 0, false
	}
	v, ok := a[i].(int64)
	return v, ok
}

// uint returns parameter i, a non-negative integer, or def when absent.
func (a cdtArgs) uint(i int, def int64) (int64, bool) {
	if i >= len(a) {
		return def, true
	}
	v, ok := a[i].(int64)
	return v, ok && v >= 0
}

// returnType returns parameter i as a return type and INVERTED flag.
func (a cdtArgs) returnType(i int) (int, bool, bool) {
	v, ok := a.uint(i, -1)
	if !ok || v < 0 || v&^(0xffff|rtInverted) != 0 {
		return 0, false, false
	}
	return int(v & 0xffff), v&rtInverted != 0, true
}

// pick is what a selecting operation selects: positions (ascending) in a
// collection of n elements, in index order (list order, map key order).
type pick struct {
	idx    []int
	n      int
	ranged bool // selected by an index range
}

// invert returns the positions not selected.
func (p pick) invert() pick {
	out := pick{n: p.n, ranged: p.ranged, idx: make([]int, 0, p.n-len(p.idx))}
	j := 0
	for i := range p.n {
		if j < len(p.idx) && p.idx[j] == i {
			j++
			continue
		}
		out.idx = append(out.idx, i)
	}
	return out
}

// has reports whether position i is selected.
func (p pick) has(i int) bool {
	_, found := slices.BinarySearch(p.idx, i)
	return found
}

// indexRange resolves an index and count against n elements as the
// server does for ranges: a negative index counts from the end, and the
// part of the range outside the elements is dropped.
func indexRange(index, count int64, n int) (start, cnt int) {
	if index >= int64(n) {
		return n, 0
	}
	if index < 0 {
		index += int64(n)
	}
	if index < 0 {
		// The range starts before the first element: keep what reaches in.
		if uint64(-index) >= uint64(count) {
			return 0, 0
		}
		return 0, int(min(uint64(count)-uint64(-index), uint64(n)))
	}
	return int(index), int(min(uint64(count), uint64(n)-uint64(index)))
}

// rangePick selects an index range.
func rangePick(index, count int64, n int) pick {
	start, cnt := indexRange(index, count, n)
	p := pick{n: n, ranged: true, idx: make([]int, cnt)}
	for i := range cnt {
		p.idx[i] = start + i
	}
	return p
}

// singleIndex resolves the index of one element; false when out of range.
func singleIndex(index int64, n int) (int, bool) {
	if index < 0 {
		index += int64(n)
	}
	if index < 0 || index >= int64(n) {
		return 0, false
	}
	return int(index), true
}

// selection is how a selecting operation answers.
type selection struct {
	rt       int
	inverted bool
	multi    bool // selects any number of elements (else at most one)
	remove   bool // removes what it selects
}

// checkReturn checks a return type against the operation and collection:
// types that do not apply answer OP_NOT_APPLICABLE, ranks are not
// implemented.
func (s selection) checkReturn(isMap bool) resultCode {
	if s.inverted && !s.multi {
		return codeOpNotApplicable
	}
	switch s.rt {
	case rtNone, rtIndex, rtRevIndex, rtCount, rtValue, rtExists:
		return codeOK
	case rtRank, rtRevRank:
		return codeUnsupportedFeature
	case rtKey, rtKeyValue, rtUnorderedMap, rtOrderedMap:
		if isMap {
			return codeOK
		}
	}
	return codeOpNotApplicable
}

// indexResult answers the indexes (or reverse indexes) of a pick. Reverse
// indexes of a range ascend within each run of the range, as the server
// lists them.
func indexResult(p pick, multi, rev bool) any {
	if !multi {
		if len(p.idx) == 0 {
			return int64(-1)
		}
		if rev {
			return int64(p.n - 1 - p.idx[0])
		}
		return int64(p.idx[0])
	}
	out := make([]any, 0, len(p.idx))
	for i := 0; i < len(p.idx); {
		j := i + 1
		if rev && p.ranged {
			for j < len(p.idx) && p.idx[j] == p.idx[j-1]+1 {
				j++
			}
			for k := i; k < j; k++ {
				out = append(out, int64(p.n-1-p.idx[j-1-(k-i)]))
			}
		} else if rev {
			out = append(out, int64(p.n-1-p.idx[i]))
		} else {
			out = append(out, int64(p.idx[i]))
		}
		i = j
	}
	return out
}

// commonResult answers the return types that lists and maps share apart
// from values and keys; ok is false for the others.
func commonResult(s selection, p pick) (any, bool) {
	switch s.rt {
	case rtNone:
		return nil, true
	case rtCount:
		return int64(len(p.idx)), true
	case rtExists:
		return len(p.idx) > 0, true
	case rtIndex, rtRevIndex:
		return indexResult(p, s.multi, s.rt == rtRevIndex), true
	}
	return nil, false
}

// --- Lists.

// runList applies a list operation to list (empty for a missing bin that
// the operation creates).
func runList(op int, args cdtArgs, list []any) (cdtOutcome, resultCode) {
	switch op {
	case listSetType:
		return listSetTypeOp(args, list)
	case listAppend, listAppendItems:
		return listAppendOp(op, args, list)
	case listClear:
		return cdtOutcome{bin: []any{}, set: true}, codeOK
	case listSize:
		return cdtOutcome{result: int64(len(list))}, codeOK
	case listGet, listPop, listRemove:
		return listByIndex(args, 0, list, listFixed(op))
	case listGetRange, listPopRange, listRemoveRange, listTrim:
		return listByIndexRange(args, 0, list, listFixed(op))
	}
	return listSelectOp(op, args, list)
}

// listFixed returns how the operations without a return type parameter
// answer.
func listFixed(op int) selection {
	switch op {
	case listGet:
		return selection{rt: rtValue}
	case listPop:
		return selection{rt: rtValue, remove: true}
	case listRemove:
		return selection{rt: rtCount, remove: true}
	case listGetRange:
		return selection{rt: rtValue, multi: true}
	case listPopRange:
		return selection{rt: rtValue, multi: true, remove: true}
	case listRemoveRange:
		return selection{rt: rtCount, multi: true, remove: true}
	}
	return selection{rt: rtCount, multi: true, remove: true, inverted: true} // trim
}

// listSetTypeOp sets the list's order: only the unordered list is kept.
func listSetTypeOp(args cdtArgs, list []any) (cdtOutcome, resultCode) {
	flags, ok := args.uint(0, 0)
	switch {
	case !ok || flags&^0x11 != 0:
		return cdtOutcome{}, codeParameter
	case flags != 0:
		return cdtOutcome{}, codeUnsupportedFeature // ordered or persisted index
	}
	return cdtOutcome{bin: list, set: true}, codeOK
}

// listAppendOp appends a value or the items of a list; it answers the new
// size. Only the default policy (unordered, no write flags) is kept.
func listAppendOp(op int, args cdtArgs, list []any) (cdtOutcome, resultCode) {
	if code := checkListPolicy(args, 1, 2); code != codeOK {
		return cdtOutcome{}, code
	}
	items := []any{args[0]}
	if op == listAppendItems {
		var ok bool
		if items, ok = args[0].([]any); !ok {
			return cdtOutcome{}, codeParameter
		}
	}
	next := append(slices.Clip(list), items...)
	if next == nil {
		next = []any{}
	}
	return cdtOutcome{bin: next, set: true, result: int64(len(next))}, codeOK
}

// checkListPolicy checks the create flags and write flags parameters.
func checkListPolicy(args cdtArgs, createAt, flagsAt int) resultCode {
	create, ok1 := args.uint(createAt, 0)
	flags, ok2 := args.uint(flagsAt, 0)
	switch {
	case !ok1 || !ok2 || create&^0x11 != 0 || flags&^0x0f != 0:
		return codeParameter
	case create != 0 || flags != 0:
		return codeUnsupportedFeature
	}
	return codeOK
}

// listSelectOp runs the operations with a return type parameter.
func listSelectOp(op int, args cdtArgs, list []any) (cdtOutcome, resultCode) {
	rt, inverted, ok := args.returnType(0)
	if !ok {
		return cdtOutcome{}, codeParameter
	}
	s := selection{rt: rt, inverted: inverted, remove: op >= listRemoveByIndex}
	switch op {
	case listGetByIndex, listRemoveByIndex:
		return listByIndex(args, 1, list, s)
	case listGetByIndexRange, listRemoveByIndexRange:
		s.multi = true
		return listByIndexRange(args, 1, list, s)
	case listGetAllByValueList, listRemoveAllByValueList:
		s.multi = true
		values, ok := args[1].([]any)
		if !ok {
			return cdtOutcome{}, codeParameter
		}
		return listByValues(values, list, s)
	}
	s.multi = op == listGetAllByValue || op == listRemoveAllByValue
	return listByValues([]any{args[1]}, list, s)
}

// listByIndex selects the element at parameter at.
func listByIndex(args cdtArgs, at int, list []any, s selection) (cdtOutcome, resultCode) {
	index, ok := args.int(at)
	if !ok {
		return cdtOutcome{}, codeParameter
	}
	if code := s.checkReturn(false); code != codeOK {
		return cdtOutcome{}, code
	}
	i, ok := singleIndex(index, len(list))
	if !ok {
		return cdtOutcome{}, codeOpNotApplicable
	}
	return listApply(list, pick{idx: []int{i}, n: len(list), ranged: true}, s)
}

// listByIndexRange selects the index range of parameters at (index) and
// at+1 (count, to the end when absent).
func listByIndexRange(args cdtArgs, at int, list []any, s selection) (cdtOutcome, resultCode) {
	index, ok1 := args.int(at)
	count, ok2 := args.uint(at+1, int64(^uint32(0)))
	if !ok1 || !ok2 {
		return cdtOutcome{}, codeParameter
	}
	if code := s.checkReturn(false); code != codeOK {
		return cdtOutcome{}, code
	}
	return listApply(list, rangePick(index, count, len(list)), s)
}

// listByValues selects the elements equal to one of values: the first
// only when the selection is single.
func listByValues(values, list []any, s selection) (cdtOutcome, resultCode) {
	if code := s.checkReturn(false); code != codeOK {
		return cdtOutcome{}, code
	}
	p := pick{n: len(list)}
	for i, e := range list {
		if slices.ContainsFunc(values, func(v any) bool { return compareValues(e, v) == 0 }) {
			p.idx = append(p.idx, i)
			if !s.multi {
				break
			}
		}
	}
	return listApply(list, p, s)
}

// listApply answers a selection and removes it when the operation does.
func listApply(list []any, p pick, s selection) (cdtOutcome, resultCode) {
	if s.inverted {
		p = p.invert()
	}
	out := cdtOutcome{result: listResult(list, p, s)}
	if s.remove {
		next := make([]any, 0, len(list)-len(p.idx))
		for i, e := range list {
			if !p.has(i) {
				next = append(next, e)
			}
		}
		out.bin, out.set = next, true
	}
	return out, codeOK
}

// listResult answers a list selection.
func listResult(list []any, p pick, s selection) any {
	if r, ok := commonResult(s, p); ok {
		return r
	}
	if !s.multi { // rtValue
		if len(p.idx) == 0 {
			return nil
		}
		return list[p.idx[0]]
	}
	values := make([]any, len(p.idx))
	for i, j := range p.idx {
		values[i] = list[j]
	}
	return values
}

// --- Maps.

// runMap applies a map operation to m (nil: a missing bin that the
// operation creates).
func runMap(op int, args cdtArgs, m *Map) (cdtOutcome, resultCode) {
	switch op {
	case mapSetType:
		return mapSetTypeOp(args, m)
	case mapAdd, mapPut, mapReplace:
		return mapPutOp(op, args, m)
	case mapAddItems, mapPutItems, mapReplaceItems:
		return mapPutItemsOp(op, args, m)
	case mapClear:
		return cdtOutcome{bin: &Map{Order: m.Order, Entries: []MapEntry{}}, set: true}, codeOK
	case mapSize:
		return cdtOutcome{result: int64(len(m.Entries))}, codeOK
	}
	return mapSelectOp(op, args, m)
}

// mapOrderOf returns the map order of an order/attributes parameter: 0, 1
// or 3, the persisted-index bit ignored.
func mapOrderOf(attr int64) (int, resultCode) {
	if attr&^0x13 != 0 {
		return 0, codeParameter
	}
	order := int(attr & 0x03)
	if order == 2 {
		return 0, codeOpNotApplicable // value-ordered without key order
	}
	return order, codeOK
}

// mapSetTypeOp creates the map with an order, or reorders it.
func mapSetTypeOp(args cdtArgs, m *Map) (cdtOutcome, resultCode) {
	attr, ok := args.uint(0, 0)
	if !ok {
		return cdtOutcome{}, codeParameter
	}
	order, code := mapOrderOf(attr)
	if code != codeOK {
		return cdtOutcome{}, code
	}
	next := &Map{Order: order, Entries: []MapEntry{}}
	if m != nil {
		next.Entries = slices.Clone(m.Entries)
		if order != 0 {
			sortEntries(next.Entries)
		}
	}
	return cdtOutcome{bin: next, set: true}, codeOK
}

// mapControl is what a map write may do with a key.
type mapControl struct {
	overwrite, create, noFail, partial bool
}

// mapWrite returns the control, and the order a missing map is created
// with, of a put, add or replace operation.
func mapWrite(op int, args cdtArgs, attrAt int) (mapControl, int, resultCode) {
	attr, ok1 := args.uint(attrAt, 0)
	flags, ok2 := args.uint(attrAt+1, 0)
	if !ok1 || !ok2 || flags&^0x0f != 0 {
		return mapControl{}, 0, codeParameter
	}
	order, code := mapOrderOf(attr)
	if code != codeOK {
		return mapControl{}, 0, code
	}
	c := mapControl{overwrite: true, create: true}
	switch op {
	case mapAdd, mapAddItems:
		c.overwrite = false
	case mapReplace, mapReplaceItems:
		c.create = false
	default: // put with write flags
		c.overwrite = flags&mapFlagCreateOnly == 0
		c.create = flags&mapFlagUpdateOnly == 0
		c.noFail = flags&mapFlagNoFail != 0
		c.partial = flags&mapFlagPartial != 0
	}
	return c, order, codeOK
}

// mapPutOp writes one key: it answers the map's size.
func mapPutOp(op int, args cdtArgs, m *Map) (cdtOutcome, resultCode) {
	c, order, code := mapWrite(op, args, 2)
	if code != codeOK {
		return cdtOutcome{}, code
	}
	items := &Map{Entries: []MapEntry{{Key: args[0], Value: args[1]}}}
	return mapPutAll(items, m, c, order)
}

// mapPutItemsOp writes the entries of a map: it answers the map's size.
func mapPutItemsOp(op int, args cdtArgs, m *Map) (cdtOutcome, resultCode) {
	c, order, code := mapWrite(op, args, 1)
	if code != codeOK {
		return cdtOutcome{}, code
	}
	items, ok := args[0].(*Map)
	if !ok {
		return cdtOutcome{}, codeParameter
	}
	return mapPutAll(items, m, c, order)
}

// mapPutAll writes items into m (nil: create it with order). A key that
// the control refuses fails the operation, or with NO_FAIL makes it a
// no-op, or with NO_FAIL and PARTIAL is skipped.
func mapPutAll(items, m *Map, c mapControl, order int) (cdtOutcome, resultCode) {
	if m == nil {
		m = &Map{Order: order, Entries: []MapEntry{}}
	}
	next := &Map{Order: m.Order, Entries: slices.Clone(m.Entries)}
	for _, e := range items.Entries {
		if !validMapKey(e.Key) {
			return cdtOutcome{}, codeParameter
		}
		i := findKey(next, e.Key)
		code := codeOK
		switch {
		case i >= 0 && !c.overwrite:
			code = codeFailElementExists
		case i < 0 && !c.create:
			code = codeFailElementNotFound
		}
		switch {
		case code != codeOK && !c.noFail:
			return cdtOutcome{}, code
		case code != codeOK && !c.partial:
			return cdtOutcome{bin: m, set: true, result: int64(len(m.Entries))}, codeOK
		case code != codeOK:
			continue
		}
		putEntry(next, i, e)
	}
	return cdtOutcome{bin: next, set: true, result: int64(len(next.Entries))}, codeOK
}

// validMapKey reports whether v may be a map key: not nil, a list or a
// map.
func validMapKey(v any) bool {
	switch v.(type) {
	case nil, []any, *Map:
		return false
	}
	return true
}

// findKey returns the position of key in m's entries, -1 if absent.
func findKey(m *Map, key any) int {
	return slices.IndexFunc(m.Entries, func(e MapEntry) bool { return compareValues(e.Key, key) == 0 })
}

// putEntry sets entry e at position i (-1: a new key, appended, or inserted
// in key order in an ordered map).
func putEntry(m *Map, i int, e MapEntry) {
	switch {
	case i >= 0:
		m.Entries[i].Value = e.Value
	case m.Order == 0:
		m.Entries = append(m.Entries, e)
	default:
		at, _ := slices.BinarySearchFunc(m.Entries, e.Key, func(x MapEntry, k any) int { return compareValues(x.Key, k) })
		m.Entries = slices.Insert(m.Entries, at, e)
	}
}

// keyOrder returns the positions of m's entries in key order: a map's
// indexes count in key order, for unordered maps too.
func keyOrder(m *Map) []int {
	order := make([]int, len(m.Entries))
	for i := range order {
		order[i] = i
	}
	if m.Order == 0 {
		slices.SortStableFunc(order, func(a, b int) int { return compareValues(m.Entries[a].Key, m.Entries[b].Key) })
	}
	return order
}

// mapSelectOp runs the operations with a return type parameter.
func mapSelectOp(op int, args cdtArgs, m *Map) (cdtOutcome, resultCode) {
	rt, inverted, ok := args.returnType(0)
	if !ok {
		return cdtOutcome{}, codeParameter
	}
	s := selection{rt: rt, inverted: inverted, remove: op < mapSize, multi: true}
	order := keyOrder(m)
	switch op {
	case mapGetByKey, mapRemoveByKey:
		s.multi = false
		return mapByMatch(m, order, s, matchKeys([]any{args[1]}))
	case mapGetByKeyList, mapRemoveByKeyList:
		return mapByList(m, order, s, args[1], matchKeys)
	case mapGetAllByValue, mapRemoveAllByValue:
		return mapByMatch(m, order, s, matchValues([]any{args[1]}))
	case mapGetByValueList, mapRemoveByValueList:
		return mapByList(m, order, s, args[1], matchValues)
	case mapGetByIndex, mapRemoveByIndex:
		s.multi = false
		return mapByIndex(args, m, order, s)
	}
	return mapByIndexRange(args, m, order, s)
}

// matchKeys matches the entries whose key is one of keys.
func matchKeys(keys []any) func(MapEntry) bool {
	return func(e MapEntry) bool {
		return slices.ContainsFunc(keys, func(k any) bool { return compareValues(e.Key, k) == 0 })
	}
}

// matchValues matches the entries whose value is one of values.
func matchValues(values []any) func(MapEntry) bool {
	return func(e MapEntry) bool {
		return slices.ContainsFunc(values, func(v any) bool { return compareValues(e.Value, v) == 0 })
	}
}

// mapByList selects by a list parameter of keys or values.
func mapByList(m *Map, order []int, s selection, param any, match func([]any) func(MapEntry) bool) (cdtOutcome, resultCode) {
	list, ok := param.([]any)
	if !ok {
		return cdtOutcome{}, codeParameter
	}
	return mapByMatch(m, order, s, match(list))
}

// mapByMatch selects the entries that match, in key order.
func mapByMatch(m *Map, order []int, s selection, match func(MapEntry) bool) (cdtOutcome, resultCode) {
	if code := s.checkReturn(true); code != codeOK {
		return cdtOutcome{}, code
	}
	p := pick{n: len(order)}
	for i, pos := range order {
		if match(m.Entries[pos]) {
			p.idx = append(p.idx, i)
		}
	}
	return mapApply(m, order, p, s)
}

// mapByIndex selects the entry at the index parameter.
func mapByIndex(args cdtArgs, m *Map, order []int, s selection) (cdtOutcome, resultCode) {
	index, ok := args.int(1)
	if !ok {
		return cdtOutcome{}, codeParameter
	}
	if code := s.checkReturn(true); code != codeOK {
		return cdtOutcome{}, code
	}
	i, ok := singleIndex(index, len(order))
	if !ok {
		return cdtOutcome{}, codeOpNotApplicable
	}
	return mapApply(m, order, pick{idx: []int{i}, n: len(order), ranged: true}, s)
}

// mapByIndexRange selects an index range (in key order).
func mapByIndexRange(args cdtArgs, m *Map, order []int, s selection) (cdtOutcome, resultCode) {
	index, ok1 := args.int(1)
	count, ok2 := args.uint(2, int64(^uint32(0)))
	if !ok1 || !ok2 {
		return cdtOutcome{}, codeParameter
	}
	if code := s.checkReturn(true); code != codeOK {
		return cdtOutcome{}, code
	}
	return mapApply(m, order, rangePick(index, count, len(order)), s)
}

// mapApply answers a selection and removes it when the operation does.
func mapApply(m *Map, order []int, p pick, s selection) (cdtOutcome, resultCode) {
	if s.inverted {
		p = p.invert()
	}
	out := cdtOutcome{result: mapResult(m, order, p, s)}
	if s.remove {
		gone := make(map[int]bool, len(p.idx))
		for _, i := range p.idx {
			gone[order[i]] = true
		}
		next := &Map{Order: m.Order, Entries: make([]MapEntry, 0, len(m.Entries)-len(p.idx))}
		for i, e := range m.Entries {
			if !gone[i] {
				next.Entries = append(next.Entries, e)
			}
		}
		out.bin, out.set = next, true
	}
	return out, codeOK
}

// mapResult answers a map selection. Keys, values and entries come in key
// order; a key-value result is a key-ordered map when the map is ordered
// or ORDERED_MAP was asked for.
func mapResult(m *Map, order []int, p pick, s selection) any {
	if r, ok := commonResult(s, p); ok {
		return r
	}
	entries := make([]MapEntry, len(p.idx))
	for i, j := range p.idx {
		entries[i] = m.Entries[order[j]]
	}
	switch s.rt {
	case rtKey, rtValue:
		if !s.multi {
			if len(entries) == 0 {
				return nil
			}
			return entryPart(entries[0], s.rt)
		}
		out := make([]any, len(entries))
		for i, e := range entries {
			out[i] = entryPart(e, s.rt)
		}
		return out
	case rtUnorderedMap:
		return &Map{Entries: entries}
	case rtOrderedMap:
		return &Map{Order: 1, Entries: entries}
	}
	return &Map{Order: min(m.Order, 1), Entries: entries} // rtKeyValue
}

// entryPart returns an entry's key or value.
func entryPart(e MapEntry, rt int) any {
	if rt == rtKey {
		return e.Key
	}
	return e.Value
}
