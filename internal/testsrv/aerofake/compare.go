package aerofake

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
)

// Ranks of the value types in the server's order of collection values
// (Aerospike's "ordering" of CDT values, the server's msgpack comparison):
// nil < false < true < integer < string < list < map < blob < float.
// Negative and non-negative integers compare by value.
const (
	rankNil = iota
	rankFalse
	rankTrue
	rankInt
	rankString
	rankList
	rankMap
	rankBlob
	rankFloat
	rankOther
)

// typeRank returns the rank of v's type.
func typeRank(v any) int {
	switch x := v.(type) {
	case nil:
		return rankNil
	case bool:
		if x {
			return rankTrue
		}
		return rankFalse
	case int64, int:
		return rankInt
	case string:
		return rankString
	case []any:
		return rankList
	case *Map:
		return rankMap
	case []byte:
		return rankBlob
	case float64:
		return rankFloat
	}
	return rankOther
}

// compareValues orders values as the server does for ordered maps and for
// list and map value comparisons: by type rank first, then integers and
// floats by value (NaN equal to any float), strings and blobs bytewise
// with a prefix first, lists element by element with a prefix first, and
// maps by entry count first, then entry by entry (key, then value) in
// their stored order.
func compareValues(a, b any) int {
	ra, rb := typeRank(a), typeRank(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch x := a.(type) {
	case int64, int:
		return cmp.Compare(asInt64(x), asInt64(b))
	case float64:
		y := b.(float64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case string:
		return strings.Compare(x, b.(string))
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case []any:
		return compareLists(x, b.([]any))
	case *Map:
		return compareMaps(x, b.(*Map))
	}
	return 0
}

// asInt64 returns an integer of either Go integer type as int64.
func asInt64(v any) int64 {
	if i, ok := v.(int); ok {
		return int64(i)
	}
	i, _ := v.(int64)
	return i
}

// compareLists compares lists element by element; a prefix is smaller.
func compareLists(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := compareValues(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// compareMaps compares maps by entry count, then entry by entry.
func compareMaps(a, b *Map) int {
	ea, eb := mapEntries(a), mapEntries(b)
	if c := cmp.Compare(len(ea), len(eb)); c != 0 {
		return c
	}
	for i := range ea {
		if c := compareValues(ea[i].Key, eb[i].Key); c != 0 {
			return c
		}
		if c := compareValues(ea[i].Value, eb[i].Value); c != 0 {
			return c
		}
	}
	return 0
}

// mapEntries returns the entries of m, none for a nil map.
func mapEntries(m *Map) []MapEntry {
	if m == nil {
		return nil
	}
	return m.Entries
}

// sortValues sorts values in place by compareValues, stably.
func sortValues(vs []any) {
	slices.SortStableFunc(vs, compareValues)
}

// sortEntries sorts map entries in place by key, stably.
func sortEntries(es []MapEntry) {
	slices.SortStableFunc(es, func(a, b MapEntry) int { return compareValues(a.Key, b.Key) })
}
