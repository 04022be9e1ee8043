package aerofake

import "slices"

// Map operations of cdtOp.

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

// Map write flags (MapWriteFlags): the server's NO_OVERWRITE, NO_CREATE,
// NO_FAIL and DO_PARTIAL.
const (
	mapFlagCreateOnly = 1
	mapFlagUpdateOnly = 2
	mapFlagNoFail     = 4
	mapFlagPartial    = 8
)

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
