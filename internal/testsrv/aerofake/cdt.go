package aerofake

import (
	"encoding/binary"
	"errors"
	"slices"
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
