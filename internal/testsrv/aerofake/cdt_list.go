package aerofake

import "slices"

// List operations of cdtOp.

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
